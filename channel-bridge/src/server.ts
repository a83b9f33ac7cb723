import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { checkReadiness, dependencyUnavailable, keyringFrom, type Logger } from '@konstruct/core';
import { createDb } from '@konstruct/db';
import { connectBus } from '@konstruct/bus';
import type { BridgeConfig } from './env.ts';
import { ChannelRouter } from './routing.ts';
import { Deduplicator } from './dedup.ts';
import { slackEventsRoutes } from './channels/slack/events.ts';
import { createSlackSender } from './outbound/slack-sender.ts';
import { createInboundPublisher } from './inbound/publish.ts';

export interface Bridge {
  url: string;
  close(): Promise<void>;
}

/** Wires channel-bridge: webhooks in, replies out. */
export async function startBridge(config: BridgeConfig, logger: Logger): Promise<Bridge> {
  const db = createDb({ url: config.databaseUrl, poolSize: 10 });
  await db.ping().catch((e) => {
    throw dependencyUnavailable('Postgres', config.databaseUrl, e);
  });
  const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect().catch((e) => {
    redis.disconnect();
    throw dependencyUnavailable('Redis', config.redisUrl, e);
  });
  const bus = await connectBus({ url: config.amqpUrl, prefix: config.busPrefix, logger }).catch((e) => {
    redis.disconnect();
    throw dependencyUnavailable('RabbitMQ', config.amqpUrl, e);
  });
  const keyring = keyringFrom(config.masterKey, config.previousMasterKeys);

  // Requests are logged by the routes themselves, with secrets and bodies left out.
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  app.get('/healthz', async () => ({ status: 'ok', service: 'channel-bridge' }));
  app.get('/readyz', async (_req, reply) => {
    const r = await checkReadiness({
      postgres: () => db.ping(),
      redis: async () => void (await redis.ping()),
      rabbitmq: () => bus.checkHealth(),
    });
    return reply.code(r.ready ? 200 : 503).send({ service: 'channel-bridge', ...r });
  });
  await app.register(slackEventsRoutes, {
    signingSecret: config.slack.signingSecret,
    router: new ChannelRouter(db),
    dedup: new Deduplicator(redis, config.redisKeyPrefix),
    publishInbound: createInboundPublisher({ bus }),
    logger,
  });

  const deliver = createSlackSender({ db, keyring, slackApiUrl: config.slack.apiUrl, logger });
  const consumer = await bus.consume('bridgeOutbound', (d) => deliver(d), { prefetch: 100, concurrency: 16 });

  await app.listen({ port: config.port, host: config.host });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;

  return {
    url: `http://${config.host}:${port}`,
    async close() {
      await app.close();
      await consumer.close();
      await bus.close();
      redis.disconnect();
      await db.close();
    },
  };
}
