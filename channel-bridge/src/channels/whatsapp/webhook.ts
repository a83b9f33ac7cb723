import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { KonstructMessageV1, parseContract, type Logger } from '@konstruct/core';
import type { PublishInbound } from '../../inbound/publish.ts';
import type { Deduplicator } from '../../dedup.ts';
import { verifyMetaSignature } from './signature.ts';
import { normalizeWhatsAppMessage, whatsappDedupKey } from './normalize.ts';
import { applyWhatsAppStatus, type StatusDeps } from './statuses.ts';
import { recordWhatsAppReaction, type ReactionDeps } from './reactions.ts';
import type { WhatsAppRoute, WhatsAppRouter } from './routing.ts';
import type { WaWebhook } from './payload.ts';
import { arr, id, obj } from './fields.ts';

export interface WhatsAppWebhookDeps {
  /** Meta app secret: the key of `X-Hub-Signature-256`. Unset: every POST is refused. */
  appSecret: string | undefined;
  /** The token entered in the app dashboard for the subscription handshake. Unset: refused. */
  verifyToken: string | undefined;
  router: WhatsAppRouter;
  dedup: Deduplicator;
  publishInbound: PublishInbound;
  statuses: StatusDeps;
  reactions: ReactionDeps;
  logger: Logger;
}

interface Tally {
  published: number;
  recorded: number;
  statuses: number;
  ignored: number;
  failed: number;
}

/**
 * `GET|POST /whatsapp/webhook`. Transport only: verify the signature over the raw bytes first
 * → parse → per change resolve the tenant by phone_number_id → each message and status in its
 * own try/catch (dedupe on the wamid, normalize, publish) → ack. Meta retries any non-200 for
 * days, so what we will never process (unknown number, unsupported field) is answered 200; only
 * a failure worth retrying (bus or database down) is a 503.
 */
export async function whatsappWebhookRoutes(app: FastifyInstance, deps: WhatsAppWebhookDeps) {
  const log = deps.logger.child({ source: 'whatsapp-webhook' });
  if (!deps.appSecret) log.warn('WHATSAPP_APP_SECRET is not set: WhatsApp webhooks will be refused');

  // Every content type as raw bytes: the signature is checked before anything is parsed.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_req, body, done) => done(null, body));

  app.get('/whatsapp/webhook', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const token = q['hub.verify_token'];
    if (q['hub.mode'] === 'subscribe' && deps.verifyToken && typeof token === 'string' && sameSecret(token, deps.verifyToken)) {
      log.info('whatsapp webhook subscription verified');
      return reply.code(200).type('text/plain').send(String(q['hub.challenge'] ?? ''));
    }
    log.warn({ mode: q['hub.mode'] }, 'whatsapp webhook verification refused');
    return reply.code(403).type('text/plain').send('verification failed');
  });

  app.post('/whatsapp/webhook', async (req, reply) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (!verifyMetaSignature(raw, req.headers['x-hub-signature-256'], deps.appSecret)) {
      log.warn({ hasSignature: req.headers['x-hub-signature-256'] !== undefined }, 'whatsapp webhook refused: signature');
      return reply.code(401).send({ error: 'invalid signature' });
    }
    let body: WaWebhook;
    try {
      body = JSON.parse(raw.toString('utf8')) as WaWebhook;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not a JSON object');
    } catch (e) {
      log.warn({ reason: (e as Error).message }, 'whatsapp webhook refused: malformed body');
      return reply.code(400).send({ error: 'malformed JSON body' });
    }
    if (body.object !== 'whatsapp_business_account' || !Array.isArray(body.entry)) {
      return reply.code(200).send({ ok: true, ignored: `object ${typeof body.object === 'string' ? body.object.slice(0, 64) : typeof body.object}` });
    }

    const tally: Tally = { published: 0, recorded: 0, statuses: 0, ignored: 0, failed: 0 };
    for (const entry of arr(body.entry).map(obj)) {
      for (const change of arr(entry?.changes).map(obj)) {
        const value = obj(change?.value);
        if (change?.field !== 'messages' || !value) {
          tally.ignored++;
          continue;
        }
        const phoneNumberId = id(obj(value.metadata)?.phone_number_id);
        let route: WhatsAppRoute | null = null;
        try {
          route = phoneNumberId ? await deps.router.byPhoneNumberId(phoneNumberId, id(entry?.id)) : null;
        } catch (e) {
          log.error({ err: e, phoneNumberId }, 'whatsapp routing failed');
          tally.failed++;
          continue;
        }
        if (!route) {
          log.warn({ phoneNumberId, businessAccountId: id(entry?.id) }, 'whatsapp change for unknown phone number ignored');
          tally.ignored++;
          continue;
        }
        for (const m of arr(value.messages)) {
          try {
            await handleMessage(m, value, route, tally);
          } catch (e) {
            tally.failed++;
            log.error({ err: e, wamid: id(obj(m)?.id), tenantId: route.tenantId }, 'whatsapp message not processed; Meta will retry');
          }
        }
        for (const raw of arr(value.statuses)) {
          const s = obj(raw) ?? {};
          try {
            const outcome = await applyWhatsAppStatus(deps.statuses, route, s);
            if (outcome.startsWith('ignored')) tally.ignored++;
            else tally.statuses++;
            log.debug({ wamid: id(s.id), outcome }, 'whatsapp status applied');
          } catch (e) {
            tally.failed++;
            log.error({ err: e, wamid: id(s.id) }, 'whatsapp status not applied; Meta will retry');
          }
        }
      }
    }
    if (tally.failed) return reply.code(503).send({ error: 'temporarily unavailable', ...tally });
    return reply.code(200).send({ ok: true, ...tally });
  });

  async function handleMessage(m: unknown, value: Record<string, unknown>, route: WhatsAppRoute, tally: Tally) {
    const decision = normalizeWhatsAppMessage(m, value, route);
    const wamid = id(obj(m)?.id);
    if (decision.kind === 'ignore') {
      log.info({ wamid, reason: decision.reason }, 'whatsapp message ignored');
      tally.ignored++;
      return;
    }
    if (decision.kind === 'publish') {
      // What Meta sent but no KonstructMessage can carry is logged with the reason, not retried.
      const valid = parseContract(KonstructMessageV1, decision.message);
      if (!valid.ok) {
        log.error({ wamid, tenantId: route.tenantId, reason: valid.reason }, 'whatsapp message cannot be normalized; ignored');
        tally.ignored++;
        return;
      }
    }
    const key = whatsappDedupKey(route.phoneNumberId, wamid!);
    if (!(await deps.dedup.claim(key))) {
      log.info({ wamid }, 'duplicate whatsapp message ignored');
      tally.ignored++;
      return;
    }
    try {
      if (decision.kind === 'reaction') {
        await recordWhatsAppReaction(deps.reactions, route, decision.reaction);
        tally.recorded++;
        return;
      }
      await deps.publishInbound(decision.message, route);
      tally.published++;
      log.info({ wamid, tenantId: route.tenantId, messageId: decision.message.id }, 'whatsapp message published');
    } catch (e) {
      await deps.dedup.release(key).catch(() => undefined);
      throw e;
    }
  }
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
