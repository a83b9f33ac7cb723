import { dependencyUnavailable, keyringFrom, startHealthServer, type Logger } from '@konstruct/core';
import { createDb } from '@konstruct/db';
import { connectBus } from '@konstruct/bus';
import type { RunnerConfig } from './env.ts';
import { createInboundHandler } from './consumer/inbound.ts';
import { createLlmRouter } from './llm/create-router.ts';
import type { ChatModel } from './llm/types.ts';
import { ToolRegistry } from './tools/registry.ts';
import type { SearchMemory } from './tools/types.ts';
import { ConversationWindow } from './memory/window.ts';
import { LongTermMemory } from './memory/long-term.ts';
import { createEmbedder } from './memory/embedders.ts';
import { createTurnMemory } from './memory/turn-memory.ts';
import { Escalation } from './escalation/handoff.ts';
import { BudgetLedger } from './budget/ledger.ts';
import { ConversationOrder } from './consumer/conversation-order.ts';
import type { KonstructReplyV1 } from '@konstruct/core';
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
  // The router picks the model per agent (preferences, then the default group) and falls back
  // along the chain; an override is a single model, asked for the configured default by name.
  const router = overrides.model ? null : createLlmRouter(config, { db, logger: logger.child({ source: 'llm' }) });
  const model: ChatModel = overrides.model ?? router!;
  const window = new ConversationWindow(redis, db, { ...config.memory.window, keyPrefix: config.redisKeyPrefix }, logger);
  const longTerm = new LongTermMemory({ db, embedder: createEmbedder(config.memory.embedder), logger });
  const memory = createTurnMemory({ window, longTerm, recallK: config.memory.recallK, logger });
  const searchMemory: SearchMemory = async (scope, agentId, endUserExternalId, query, k) => {
    const found = await longTerm.recall(scope, { agentId, endUserExternalId, query, k });
    if (!found.ok) throw new Error(found.error);
    return found.value.memories.map((m) => ({ text: m.text, score: m.score, createdAt: m.createdAt }));
  };
  const publishEvent = createEventPublisher(redis, config.redisKeyPrefix, logger);
  const publishReply = (reply: KonstructReplyV1) =>
    bus.publish('outbound', `outbound.${reply.channel.kind}`, reply, { messageId: `reply:${reply.inReplyTo}` });
  const escalation = new Escalation({ db, publishReply, publishEvent, logger, onTranscriptChanged: (scope, id) => window.forget(scope, id) });
  const ledger = new BudgetLedger({ db, logger, publishEvent });
  const tools = new ToolRegistry({
    db,
    keyring: keyringFrom(config.masterKey, config.previousMasterKeys),
    logger,
    allowPrivateNetwork: config.tools.allowPrivateNetwork,
    searchMemory,
    requestHandoff: escalation.requestHandoff,
  });
  const handler = createInboundHandler({
    db,
    agents: new AgentCache(db),
    model,
    ...(overrides.model && { requestModel: config.defaultModel }),
    tools,
    toolMaxSteps: config.tools.maxSteps,
    memory,
    historyMessages: config.historyMessages,
    logger,
    publishEvent,
    publishReply,
    escalation,
    order: new ConversationOrder(redis, config.redisKeyPrefix, config.conversationOrder, logger),
    budgets: {
      ledger,
      maxTokens: config.llm.maxTokens,
      ...(router && { chainFor: (req: Parameters<typeof router.chainFor>[0]) => router.chainFor(req) }),
      cheaperCandidates: (config.llm.groups.cheap ?? []).map((d) => `${d.provider}:${d.model}`),
    },
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
