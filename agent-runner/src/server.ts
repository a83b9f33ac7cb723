import { dependencyUnavailable, startHealthServer, type Logger } from '@konstruct/core';
import { createDb } from '@konstruct/db';
import { connectBus } from '@konstruct/bus';
import type { RunnerConfig } from './env.ts';
import { createInboundHandler } from './consumer/inbound.ts';
import { createOpenAiChat } from './llm/openai-chat.ts';
import type { ChatModel } from './llm/types.ts';
import { AgentCache } from './loop/agent-cache.ts';
import { Redis } from 'ioredis';
import { createEventPublisher } from './events.ts';

export interface Runner {
  url: string;
  close(): Promise<void>;
}

export async function startRunner(config: RunnerConfig, logger: Logger, overrides: { model?: ChatModel } = {}): Promise<Runner> {
  const db = createDb({ url: config.databaseUrl, poolSize: Math.min(20, config.concurrency) });
  await db.ping().catch((e) => {
    throw dependencyUnavailable('Postgres', config.databaseUrl, e);
  });
  const bus = await connectBus({ url: config.amqpUrl, prefix: config.busPrefix, logger }).catch((e) => {
    throw dependencyUnavailable('RabbitMQ', config.amqpUrl, e);
  });
  const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect().catch((e) => {
    redis.disconnect();
    throw dependencyUnavailable('Redis', config.redisUrl, e);
  });
  const model = overrides.model ?? createOpenAiChat(config.openai);
  const handler = createInboundHandler({
    db,
    agents: new AgentCache(db),
    model,
    defaultModel: config.defaultModel,
    historyMessages: config.historyMessages,
    logger,
    publishEvent: createEventPublisher(redis, config.redisKeyPrefix, logger),
    publishReply: (reply) =>
      bus.publish('outbound', `outbound.${reply.channel.kind}`, reply, { messageId: `reply:${reply.inReplyTo}` }),
  });
  const consumer = await bus.consume('runnerInbound', handler, { prefetch: config.prefetch, concurrency: config.concurrency });
  const health = await startHealthServer({
    port: config.port,
    host: config.host,
    service: 'agent-runner',
    checks: {
      postgres: () => db.ping(),
      redis: async () => void (await redis.ping()),
      rabbitmq: () => bus.checkHealth(),
    },
  });
  return {
    url: health.url,
    async close() {
      await consumer.close();
      await bus.close();
      redis.disconnect();
      await health.close();
      await db.close();
    },
  };
}
