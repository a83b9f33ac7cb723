import type { FastifyInstance } from 'fastify';
import type { Logger } from '@konstruct/core';
import type { PublishInbound } from '../../inbound/publish.ts';
import { normalizeSlackEvent, slackDedupKey, type SlackEnvelope } from './normalize.ts';
import type { ChannelRouter } from '../../routing.ts';
import type { Deduplicator } from '../../dedup.ts';
import { verifySlackSignature, type SlackSigningSecrets } from './signing-secrets.ts';
import type { ThreadParticipation } from './threads.ts';

export interface SlackEventsDeps {
  /** The platform app's signing secret. */
  signingSecret: string;
  /** Tenants' own apps' signing secrets, by api_app_id. */
  byoSecrets: SlackSigningSecrets;
  router: ChannelRouter;
  dedup: Deduplicator;
  threads: ThreadParticipation;
  publishInbound: PublishInbound;
  logger: Logger;
}

/**
 * The app id, read from the unverified body only to choose which signing secret to check;
 * nothing else is read before the signature holds. Slack's URL check carries no app id, so a
 * tenant's own app can name itself in its Request URL (`/slack/events?app_id=A…`); when both
 * are present they must agree.
 */
function claimedAppId(parsed: unknown, query: unknown): { appId: string | undefined } | { conflict: true } {
  const claimed = (parsed as { api_app_id?: unknown } | null | undefined)?.api_app_id;
  const fromBody = typeof claimed === 'string' ? claimed : undefined;
  const q = (query as { app_id?: unknown } | undefined)?.app_id;
  const fromQuery = typeof q === 'string' && q !== '' ? q : undefined;
  if (fromBody && fromQuery && fromBody !== fromQuery) return { conflict: true };
  return { appId: fromBody ?? fromQuery };
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
    // Parsed once; until the signature holds only api_app_id is read from it.
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = undefined;
    }
    const claimed = claimedAppId(parsed, req.query);
    if ('conflict' in claimed) {
      log.warn('slack request refused: app id in the body and in the URL differ');
      return reply.code(401).send({ error: 'invalid signature' });
    }
    const verified = await verifySlackSignature(deps.byoSecrets, deps.signingSecret, {
      raw,
      signature: typeof signature === 'string' ? signature : '',
      timestamp: Number(req.headers['x-slack-request-timestamp']),
      appId: claimed.appId,
    });
    if (!verified) {
      log.warn({ appId: claimed.appId }, 'slack request refused: signature');
      return reply.code(401).send({ error: 'invalid signature' });
    }

    const env = parsed as SlackEnvelope | null | undefined;
    if (typeof env !== 'object' || env === null || typeof env.type !== 'string') {
      log.warn({ reason: parsed === undefined ? 'not JSON' : 'not an event envelope' }, 'slack request refused: malformed body');
      return reply.code(400).send({ error: 'malformed JSON body' });
    }

    if (env.type === 'url_verification') {
      return reply.code(200).send({ challenge: env.challenge });
    }
    if (env.type !== 'event_callback' || typeof env.team_id !== 'string' || !env.team_id) {
      return reply.code(200).send({ ok: true, ignored: `type ${env.type}` });
    }

    const route = await deps.router.slack(env.team_id, verified.source === 'byo' ? verified.appId : '');
    if (route && verified.source === 'byo' && !verified.connectionIds.has(route.connectionId)) {
      // Signed with one tenant's app secret, claiming a workspace connected by another tenant.
      log.warn({ teamId: env.team_id, appId: verified.appId, eventId: env.event_id }, 'slack request refused: signing secret is not this workspace’s');
      return reply.code(401).send({ error: 'invalid signature' });
    }
    if (!route) {
      // 200 so Slack does not keep retrying an install we do not know.
      log.warn({ teamId: env.team_id, appId: env.api_app_id, eventId: env.event_id, signedBy: verified.source }, 'slack event for unknown team ignored');
      return reply.code(200).send({ ok: true, ignored: 'unknown team' });
    }

    const decision = normalizeSlackEvent(env, route);
    if (decision.kind === 'ignore') {
      log.debug({ eventId: env.event_id, reason: decision.reason }, 'slack event ignored');
      return reply.code(200).send({ ok: true, ignored: decision.reason });
    }
    const thread = { tenantId: route.tenantId, teamId: decision.thread.teamId, channel: decision.thread.channel, threadTs: decision.thread.rootTs };
    if (decision.addressed === 'thread' && !(await deps.threads.takesPart(thread))) {
      log.debug({ eventId: env.event_id }, 'slack thread reply ignored: the employee is not in the thread');
      return reply.code(200).send({ ok: true, ignored: 'thread without the employee' });
    }

    const key = slackDedupKey(env, route.tenantId)!;
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
    // A mention makes the thread one the employee takes part in; later replies there need no
    // new mention. The message is already on its way, so a failure here is logged, not
    // retried: the conversation row covers the thread once the runner has handled it.
    if (decision.addressed !== 'direct') {
      await deps.threads.mark(thread).catch((e: unknown) => log.warn({ err: e, eventId: env.event_id }, 'thread marker not set'));
    }
    log.info(
      { eventId: env.event_id, tenantId: route.tenantId, messageId: decision.message.id, addressed: decision.addressed },
      'slack event published',
    );
    return reply.code(200).send({ ok: true });
  });
}
