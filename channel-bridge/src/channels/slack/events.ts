import type { FastifyInstance } from 'fastify';
import { verifySlackRequest } from '@slack/bolt';
import type { Logger } from '@konstruct/core';
import type { PublishInbound } from '../../inbound/publish.ts';
import { normalizeSlackEvent, slackDedupKey, type SlackEnvelope } from './normalize.ts';
import type { ChannelRouter } from '../../routing.ts';
import type { Deduplicator } from '../../dedup.ts';

export interface SlackEventsDeps {
  signingSecret: string;
  router: ChannelRouter;
  dedup: Deduplicator;
  publishInbound: PublishInbound;
  logger: Logger;
}

/**
 * `POST /slack/events`. Transport only: verify → challenge → parse → drop our own and
 * non-addressed events → resolve tenant → normalize → publish (confirmed) → ack. Slack wants
 * an answer within 3 s and retries otherwise, so nothing here waits on the model.
 */
export async function slackEventsRoutes(app: FastifyInstance, deps: SlackEventsDeps) {
  const log = deps.logger.child({ source: 'slack-events' });

  // Keep the raw body: the signature is computed over the exact bytes Slack sent.
  app.addContentTypeParser(
    ['application/json', 'application/x-www-form-urlencoded'],
    { parseAs: 'string', bodyLimit: 1024 * 1024 },
    (_req, body, done) => done(null, body),
  );

  app.post('/slack/events', async (req, reply) => {
    const raw = typeof req.body === 'string' ? req.body : '';
    const signature = req.headers['x-slack-signature'];
    const timestamp = Number(req.headers['x-slack-request-timestamp']);
    try {
      verifySlackRequest({
        signingSecret: deps.signingSecret,
        body: raw,
        headers: { 'x-slack-signature': typeof signature === 'string' ? signature : '', 'x-slack-request-timestamp': timestamp },
      });
    } catch (e) {
      log.warn({ reason: (e as Error).message }, 'slack request refused: signature');
      return reply.code(401).send({ error: 'invalid signature' });
    }

    let env: SlackEnvelope;
    try {
      env = JSON.parse(raw) as SlackEnvelope;
      if (typeof env !== 'object' || env === null || typeof env.type !== 'string') throw new Error('not an event envelope');
    } catch (e) {
      log.warn({ reason: (e as Error).message }, 'slack request refused: malformed body');
      return reply.code(400).send({ error: 'malformed JSON body' });
    }

    if (env.type === 'url_verification') {
      return reply.code(200).send({ challenge: env.challenge });
    }
    if (env.type !== 'event_callback' || !env.team_id) {
      return reply.code(200).send({ ok: true, ignored: `type ${env.type}` });
    }

    const route = await deps.router.slack(env.team_id, env.api_app_id);
    if (!route) {
      // 200 so Slack does not keep retrying an install we do not know.
      log.warn({ teamId: env.team_id, appId: env.api_app_id, eventId: env.event_id }, 'slack event for unknown team ignored');
      return reply.code(200).send({ ok: true, ignored: 'unknown team' });
    }

    const decision = normalizeSlackEvent(env, route);
    if (decision.kind === 'ignore') {
      log.debug({ eventId: env.event_id, reason: decision.reason }, 'slack event ignored');
      return reply.code(200).send({ ok: true, ignored: decision.reason });
    }

    const key = slackDedupKey(env)!;
    if (!(await deps.dedup.claim(key))) {
      log.info({ eventId: env.event_id, retry: req.headers['x-slack-retry-num'] }, 'duplicate slack event ignored');
      return reply.code(200).send({ ok: true, ignored: 'duplicate' });
    }
    try {
      await deps.publishInbound(decision.message, route);
    } catch (e) {
      await deps.dedup.release(key).catch(() => undefined);
      log.error({ err: e, eventId: env.event_id }, 'publish failed; Slack will retry');
      return reply.code(503).send({ error: 'temporarily unavailable' });
    }
    log.info({ eventId: env.event_id, tenantId: route.tenantId, messageId: decision.message.id }, 'slack event published');
    return reply.code(200).send({ ok: true });
  });
}
