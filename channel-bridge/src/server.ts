import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { checkReadiness, dependencyUnavailable, keyringFrom, type Logger } from '@konstruct/core';
import { createDb } from '@konstruct/db';
import { connectBus } from '@konstruct/bus';
import type { BridgeConfig } from './env.ts';
import { ChannelRouter } from './routing.ts';
import { Deduplicator } from './dedup.ts';
import { slackEventsRoutes } from './channels/slack/events.ts';
import { slackInstallRoutes } from './channels/slack/install.ts';
import { SlackSigningSecrets } from './channels/slack/signing-secrets.ts';
import { ThreadParticipation } from './channels/slack/threads.ts';
import { createSlackSender } from './outbound/slack-sender.ts';
import { createInboundPublisher } from './inbound/publish.ts';
import { createOutboundDispatcher } from './outbound/dispatch.ts';
import { whatsappWebhookRoutes } from './channels/whatsapp/webhook.ts';
import { WhatsAppRouter } from './channels/whatsapp/routing.ts';
import { WhatsAppConnections } from './channels/whatsapp/connections.ts';
import { DeliveryFeedback } from './channels/whatsapp/feedback.ts';
import { createWhatsAppSender, WHATSAPP_SEND_MODE_HEADER } from './outbound/whatsapp-sender.ts';
import { WhatsAppPacer } from './outbound/whatsapp-pacing.ts';
import { RateLimiter } from './limits/inbound-limiter.ts';

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
  // Fastify's default handler echoes the error message, which can carry query text or
  // internals. Client errors keep their message (they describe the request); anything else is
  // logged with an id and answered with that id only.
  app.setErrorHandler((err: { statusCode?: number; message: string; code?: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status < 500) return reply.code(status).send({ error: err.message, code: err.code });
    logger.error({ err, requestId: req.id, url: req.url }, 'request failed');
    return reply.code(500).send({ error: 'internal error', requestId: req.id });
  });
  app.get('/healthz', async () => ({ status: 'ok', service: 'channel-bridge' }));
  app.get('/readyz', async (_req, reply) => {
    const r = await checkReadiness({
      postgres: () => db.ping(),
      redis: async () => void (await redis.ping()),
      rabbitmq: () => bus.checkHealth(),
    });
    return reply.code(r.ready ? 200 : 503).send({ service: 'channel-bridge', ...r });
  });
  const router = new ChannelRouter(db);
  // One publisher for every channel route: the tenant's and channel's rate limits apply to all.
  const publishInbound = createInboundPublisher({ bus, limiter: RateLimiter.create(db, redis, config.redisKeyPrefix), logger });
  await app.register(slackEventsRoutes, {
    signingSecret: config.slack.signingSecret,
    byoSecrets: new SlackSigningSecrets(db, keyring, logger),
    router,
    dedup: new Deduplicator(redis, config.redisKeyPrefix),
    threads: new ThreadParticipation(redis, config.redisKeyPrefix, db),
    publishInbound,
    logger,
  });
  await app.register(slackInstallRoutes, {
    db,
    keyring,
    router,
    logger,
    clientId: config.slack.clientId,
    clientSecret: config.slack.clientSecret,
    publicUrl: config.publicUrl,
    authorizeUrl: config.slack.authorizeUrl,
    slackApiUrl: config.slack.apiUrl,
  });

  const whatsappConnections = new WhatsAppConnections(db, keyring);
  const whatsappFeedback = new DeliveryFeedback(db, redis, config.redisKeyPrefix, logger);
  await app.register(whatsappWebhookRoutes, {
    appSecret: config.whatsapp.appSecret,
    verifyToken: config.whatsapp.verifyToken,
    router: new WhatsAppRouter(db),
    dedup: new Deduplicator(redis, config.redisKeyPrefix),
    publishInbound,
    statuses: {
      db,
      feedback: whatsappFeedback,
      connections: whatsappConnections,
      logger,
      resendAsTemplate: (reply) =>
        bus.publish('outbound', 'outbound.whatsapp', reply, {
          messageId: `template:${reply.id}`,
          headers: { [WHATSAPP_SEND_MODE_HEADER]: 'template' },
        }),
    },
    reactions: { db, feedback: whatsappFeedback, logger },
    logger,
  });

  const { maxAttempts, ...slackOutbound } = config.slack.outbound;
  const deliver = createSlackSender({
    db,
    keyring,
    slackApiUrl: config.slack.apiUrl,
    redis,
    redisKeyPrefix: config.redisKeyPrefix,
    maxAttempts,
    options: slackOutbound,
    logger,
  });
  const whatsapp = createWhatsAppSender({
    db,
    connections: whatsappConnections,
    feedback: whatsappFeedback,
    pacer: new WhatsAppPacer(redis, {
      keyPrefix: config.redisKeyPrefix,
      pairIntervalMs: config.whatsapp.pairIntervalMs,
      numberRatePerSecond: config.whatsapp.numberRatePerSecond,
    }),
    graph: { apiUrl: config.whatsapp.apiUrl },
    sendingGraceMs: config.whatsapp.sendingGraceMs,
    logger,
  });
  const dispatch = createOutboundDispatcher({ slack: (d) => deliver(d), whatsapp: (d) => whatsapp.deliver(d) });
  // WhatsApp deliveries wait in their handler for the user's 6-second slot (replies that pile
  // up meanwhile are coalesced), so every prefetched delivery may run at once.
  const consumer = await bus.consume('bridgeOutbound', dispatch, { prefetch: 100, concurrency: 100 });

  await app.listen({ port: config.port, host: config.host });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;

  return {
    url: `http://${config.host}:${port}`,
    async close() {
      await app.close();
      // Wakes deliveries waiting for a WhatsApp slot; they go back to the queue.
      await whatsapp.close();
      await consumer.close();
      await bus.close();
      redis.disconnect();
      await db.close();
    },
  };
}
