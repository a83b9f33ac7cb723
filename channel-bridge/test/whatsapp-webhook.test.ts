import { randomBytes, randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, keyringFrom, tenantEventsChannel, type KonstructMessageV1Input, type KonstructReplyV1, type TenantEvent } from '@konstruct/core';
import type { Db } from '@konstruct/db';
import { appDb, databaseUrl } from '../../test/support/db.ts';
import { eventually } from '../../test/support/eventually.ts';
import {
  retarget,
  simpleQuery,
  seedWhatsAppConversation,
  seedWhatsAppTenant,
  waContact,
  waMessage,
  wamid,
  waStatus,
  waText,
  waWebhook,
  whatsappFixture,
  whatsappSignature,
  type WhatsAppTenant,
} from '../../test/support/whatsapp.ts';
import { whatsappWebhookRoutes } from '../src/channels/whatsapp/webhook.ts';
import { WhatsAppRouter } from '../src/channels/whatsapp/routing.ts';
import { WhatsAppConnections } from '../src/channels/whatsapp/connections.ts';
import { DeliveryFeedback } from '../src/channels/whatsapp/feedback.ts';
import { Deduplicator } from '../src/dedup.ts';
import { callbackData } from '../src/outbound/whatsapp-text.ts';
import type { InboundRoute } from '../src/inbound/publish.ts';

const appSecret = randomBytes(16).toString('hex');
const verifyToken = randomBytes(8).toString('hex');
const masterKey = randomBytes(32).toString('base64');
const logger = createLogger('test', 'silent');

describe('WhatsApp webhook (real Postgres and Redis, in-process routes)', () => {
  let app: FastifyInstance;
  let db: Db;
  let redis: Redis;
  let sub: Redis;
  let owner: pg.Client;
  let prefix: string;
  let acme: WhatsAppTenant;
  let templated: WhatsAppTenant;
  const published: { message: KonstructMessageV1Input; route: InboundRoute }[] = [];
  const resent: KonstructReplyV1[] = [];
  const events: TenantEvent[] = [];
  /** When set, publishInbound throws for messages whose text contains it (bus down). */
  let failPublishFor: string | null = null;

  beforeAll(async () => {
    db = appDb();
    redis = new Redis('redis://127.0.0.1:6379');
    // Connected before SUBSCRIBE: ioredis' ready check (INFO) is refused in subscriber mode.
    sub = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
    await sub.connect();
    owner = new pg.Client({ connectionString: databaseUrl() });
    await owner.connect();
    prefix = `test:${randomUUID()}:`;
    acme = await seedWhatsAppTenant(databaseUrl(), masterKey, { phoneNumberId: `1065${Date.now()}` });
    templated = await seedWhatsAppTenant(databaseUrl(), masterKey, {
      settings: { whatsapp: { outsideWindowTemplate: { name: 'order_update', language: 'en_US' } } },
    });
    for (const t of [acme, templated]) await sub.subscribe(tenantEventsChannel(prefix, t.tenantId));
    sub.on('message', (_channel: string, raw: string) => events.push(JSON.parse(raw) as TenantEvent));

    const feedback = new DeliveryFeedback(db, redis, prefix, logger);
    app = Fastify();
    await app.register(whatsappWebhookRoutes, {
      appSecret,
      verifyToken,
      router: new WhatsAppRouter(db),
      dedup: new Deduplicator(redis, prefix),
      publishInbound: async (message, route) => {
        if (failPublishFor && message.text.includes(failPublishFor)) throw new Error('bus unavailable');
        published.push({ message, route });
        return { kind: 'published' };
      },
      statuses: {
        db,
        feedback,
        connections: new WhatsAppConnections(db, keyringFrom(masterKey)),
        resendAsTemplate: async (reply) => void resent.push(reply),
        logger,
      },
      reactions: { db, feedback, logger },
      logger,
    });
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    sub?.disconnect();
    redis?.disconnect();
    await owner?.end();
    await db?.close();
  });

  beforeEach(() => {
    published.length = 0;
    resent.length = 0;
    events.length = 0;
    failPublishFor = null;
  });

  function post(payload: unknown, opts: { signature?: string | null; raw?: string; contentType?: string } = {}) {
    const body = opts.raw ?? JSON.stringify(payload);
    const signature = opts.signature === undefined ? whatsappSignature(body, appSecret) : opts.signature;
    return app.inject({
      method: 'POST',
      url: '/whatsapp/webhook',
      headers: { 'content-type': opts.contentType ?? 'application/json', ...(signature ? { 'x-hub-signature-256': signature } : {}) },
      payload: body,
    });
  }

  const fixtureFor = (name: string, t: WhatsAppTenant = acme) => retarget(whatsappFixture(name), t.phoneNumberId);

  describe('GET verification', () => {
    it('answers the subscription challenge as text/plain with the right verify token', async () => {
      const res = await app.inject({
        method: 'GET',
        url: `/whatsapp/webhook?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=${verifyToken}`,
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.body).toBe('1158201444');
    });

    it.each([
      ['a wrong token', `hub.mode=subscribe&hub.challenge=1&hub.verify_token=wrong-${verifyToken}`],
      ['no token', 'hub.mode=subscribe&hub.challenge=1'],
      ['another mode', `hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=${verifyToken}`],
      ['no parameters', ''],
    ])('refuses %s with 403', async (_name, query) => {
      const res = await app.inject({ method: 'GET', url: `/whatsapp/webhook?${query}` });
      expect(res.statusCode).toBe(403);
      expect(res.body).not.toContain('1');
    });
  });

  describe('POST signature and body', () => {
    it('publishes a validly signed message', async () => {
      const res = await post(fixtureFor('text'));
      expect(res.statusCode).toBe(200);
      expect(published).toHaveLength(1);
      expect(published[0]!.route).toMatchObject({ tenantId: acme.tenantId, connectionId: acme.connectionId });
    });

    it('refuses a forged signature, a missing one and one over another body with 401, publishing nothing', async () => {
      const payload = fixtureFor('image');
      const body = JSON.stringify(payload);
      expect((await post(payload, { signature: whatsappSignature(body, 'not-the-app-secret') })).statusCode).toBe(401);
      expect((await post(payload, { signature: null })).statusCode).toBe(401);
      expect((await post(payload, { signature: whatsappSignature(`${body} `, appSecret) })).statusCode).toBe(401);
      expect((await post(payload, { signature: 'sha256=', contentType: 'text/plain' })).statusCode).toBe(401);
      expect(published).toHaveLength(0);
    });

    it('refuses a signed body that is not JSON with 400', async () => {
      expect((await post(null, { raw: '{"object":"whatsapp_business_account","entry":[' })).statusCode).toBe(400);
      expect((await post(null, { raw: '[1,2,3]' })).statusCode).toBe(400);
      expect(published).toHaveLength(0);
    });

    it('acknowledges an unknown phone number and other objects with 200, publishing nothing', async () => {
      const unknown = retarget(whatsappFixture('text'), '999000999000');
      const res = await post(unknown);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ ok: true, published: 0, ignored: 1 });
      expect((await post({ object: 'page', entry: [] })).statusCode).toBe(200);
      expect(published).toHaveLength(0);
    });
  });

  describe('inbound messages', () => {
    it('publishes each fixture type normalized (interactive button, image)', async () => {
      expect((await post(fixtureFor('interactive_button_reply'))).statusCode).toBe(200);
      expect((await post(fixtureFor('image'))).statusCode).toBe(200);
      expect(published.map((p) => p.message.text)).toEqual(['Talk to a person', 'the box arrived damaged']);
      expect(published[0]!.message.interactive).toEqual({ kind: 'button_reply', id: 'talk_to_human', title: 'Talk to a person' });
      expect(published[1]!.message.attachments?.[0]).toMatchObject({ kind: 'image', externalId: '1203485745067829' });
    });

    it('publishes every message of a POST, and a Meta retry of the same POST publishes none again', async () => {
      const from = '16505550001';
      const payload = waWebhook(acme.phoneNumberId, {
        contacts: [waContact(from)],
        messages: [
          waText(from, 'first'),
          waMessage(from, 'location', { latitude: 1.5, longitude: 2.5, name: 'Depot' }),
          waMessage(from, 'audio', { mime_type: 'audio/ogg; codecs=opus', sha256: 'abc=', id: '777', voice: true }),
          waText(from, 'fourth'),
        ],
      });
      const res = await post(payload);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ published: 4, failed: 0 });
      expect(published.map((p) => p.message.text)).toEqual(['first', '[location: Depot (1.5, 2.5)]', '[voice message]', 'fourth']);
      expect(new Set(published.map((p) => p.message.externalId)).size).toBe(4);

      const again = await post(payload);
      expect(again.statusCode).toBe(200);
      expect(again.json()).toMatchObject({ published: 0, ignored: 4 });
      expect(published).toHaveLength(4);
    });

    it('isolates a failing message: the others are published, the POST is 503, and the retry publishes only the failed one', async () => {
      const from = '16505550002';
      const payload = waWebhook(acme.phoneNumberId, {
        contacts: [waContact(from)],
        messages: [waText(from, 'one'), waText(from, 'two FAILS'), waText(from, 'three')],
      });
      failPublishFor = 'FAILS';
      const res = await post(payload);
      expect(res.statusCode).toBe(503);
      expect(published.map((p) => p.message.text)).toEqual(['one', 'three']);

      failPublishFor = null;
      const retry = await post(payload);
      expect(retry.statusCode).toBe(200);
      expect(published.map((p) => p.message.text)).toEqual(['one', 'three', 'two FAILS']);
    });

    it('records a reaction in the conversation without publishing it, once', async () => {
      const conv = await seedWhatsAppConversation(databaseUrl(), acme, { replies: [{ text: 'Your parcel left the depot.', deliveryState: 'sent', providerMessageId: 'wamid.REACTED1' }] });
      const reaction = waMessage(conv.waId, 'reaction', { message_id: 'wamid.REACTED1', emoji: '🙏' });
      const payload = waWebhook(acme.phoneNumberId, { contacts: [waContact(conv.waId)], messages: [reaction] });
      expect((await post(payload)).statusCode).toBe(200);
      expect((await post(payload)).statusCode).toBe(200);
      expect(published).toHaveLength(0);
      const { rows } = await simpleQuery(owner, 
        `SELECT direction, author, text, external_id FROM messages WHERE conversation_id = $1 AND external_id = $2`,
        [conv.conversationId, reaction.id],
      );
      expect(rows).toEqual([{ direction: 'inbound', author: 'end_user', text: 'Reacted 🙏 to "Your parcel left the depot."', external_id: reaction.id }]);
      await eventually(() => expect(events.some((e) => e.type === 'conversation' && e.conversationId === conv.conversationId)).toBe(true));
    });
  });

  describe('statuses', () => {
    async function stateOf(id: string) {
      const { rows } = await simpleQuery(owner, 'SELECT delivery_state, delivery_error, provider_message_id FROM messages WHERE id = $1', [id]);
      return rows[0] as { delivery_state: string; delivery_error: string | null; provider_message_id: string | null };
    }

    it('moves a reply forward (sent → delivered → read) and never back; statuses are never published', async () => {
      const id = wamid();
      const conv = await seedWhatsAppConversation(databaseUrl(), acme, { replies: [{ text: 'hi', deliveryState: 'sent', providerMessageId: id }] });
      const replyId = conv.replies[0]!.replyId;
      const delivered = retarget(whatsappFixture('status_delivered'), acme.phoneNumberId);
      delivered.entry[0].changes[0].value.statuses[0].id = id;
      expect((await post(delivered)).statusCode).toBe(200);
      expect((await stateOf(replyId)).delivery_state).toBe('delivered');

      await post(waWebhook(acme.phoneNumberId, { statuses: [waStatus(id, 'sent', conv.waId)] }));
      expect((await stateOf(replyId)).delivery_state).toBe('delivered');
      await post(waWebhook(acme.phoneNumberId, { statuses: [waStatus(id, 'read', conv.waId)] }));
      expect((await stateOf(replyId)).delivery_state).toBe('read');
      await post(waWebhook(acme.phoneNumberId, { statuses: [waStatus(id, 'delivered', conv.waId)] }));
      expect((await stateOf(replyId)).delivery_state).toBe('read');
      expect(published).toHaveLength(0);
    });

    it('applies several statuses in one POST, each on its own', async () => {
      const [a, b] = [wamid(), wamid()];
      const conv = await seedWhatsAppConversation(databaseUrl(), acme, {
        replies: [
          { text: 'a', deliveryState: 'sent', providerMessageId: a },
          { text: 'b', deliveryState: 'sent', providerMessageId: b },
        ],
      });
      const res = await post(
        waWebhook(acme.phoneNumberId, {
          statuses: [waStatus(a, 'delivered', conv.waId), { status: 'delivered' }, waStatus(b, 'read', conv.waId)],
        }),
      );
      expect(res.statusCode).toBe(200);
      expect((await stateOf(conv.replies[0]!.replyId)).delivery_state).toBe('delivered');
      expect((await stateOf(conv.replies[1]!.replyId)).delivery_state).toBe('read');
    });

    it('does not let a status for one tenant touch another tenant’s message with the same wamid', async () => {
      const id = wamid();
      const mine = await seedWhatsAppConversation(databaseUrl(), acme, { replies: [{ text: 'x', deliveryState: 'sent', providerMessageId: id }] });
      const theirs = await seedWhatsAppConversation(databaseUrl(), templated, { replies: [{ text: 'y', deliveryState: 'sent', providerMessageId: id }] });
      await post(waWebhook(acme.phoneNumberId, { statuses: [waStatus(id, 'read', mine.waId)] }));
      expect((await stateOf(mine.replies[0]!.replyId)).delivery_state).toBe('read');
      expect((await stateOf(theirs.replies[0]!.replyId)).delivery_state).toBe('sent');
    });

    it('records a failed status on the reply and feeds it back to the conversation, audit and live events', async () => {
      const id = wamid();
      const conv = await seedWhatsAppConversation(databaseUrl(), acme, { replies: [{ text: 'hello', deliveryState: 'sent', providerMessageId: id }] });
      const replyId = conv.replies[0]!.replyId;
      const payload = waWebhook(acme.phoneNumberId, { statuses: [waStatus(id, 'failed', conv.waId)] });
      expect((await post(payload)).statusCode).toBe(200);
      expect(await stateOf(replyId)).toMatchObject({
        delivery_state: 'failed',
        delivery_error: 'whatsapp 131026: Message undeliverable (Unable to deliver message.)',
      });
      // Meta repeats webhooks: the second copy adds no second note or audit event.
      expect((await post(payload)).statusCode).toBe(200);

      const notes = await simpleQuery(owner, `SELECT author, text FROM messages WHERE conversation_id = $1 AND author = 'system'`, [conv.conversationId]);
      expect(notes.rows).toEqual([{ author: 'system', text: 'Reply not delivered: whatsapp 131026: Message undeliverable (Unable to deliver message.)' }]);
      const audit = await simpleQuery(owner, `SELECT action, subject_id, data FROM audit_events WHERE tenant_id = $1 AND subject_id = $2`, [acme.tenantId, replyId]);
      expect(audit.rows).toHaveLength(1);
      expect(audit.rows[0]).toMatchObject({ action: 'whatsapp.delivery_failed', data: { code: '131026', wamid: id, state: 'failed' } });
      await eventually(() =>
        expect(events).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ type: 'delivery_alert', messageId: replyId, state: 'failed', code: '131026' }),
            expect.objectContaining({ type: 'conversation', conversationId: conv.conversationId }),
          ]),
        ),
      );
    });

    it('holds a reply Meta refused with 131047 when no template is configured, and alerts the operator', async () => {
      const conv = await seedWhatsAppConversation(databaseUrl(), acme, {
        lastInboundAt: new Date(Date.now() - 25 * 3600_000),
        replies: [{ text: 'late answer', deliveryState: 'sent', providerMessageId: 'placeholder' }],
      });
      const fixture = retarget(whatsappFixture('status_failed_131047'), acme.phoneNumberId);
      const failedId = fixture.entry[0].changes[0].value.statuses[0].id as string;
      // One fixture wamid, many test runs: make it this reply's.
      const uniqueWamid = `${failedId}-${randomBytes(3).toString('hex')}`;
      fixture.entry[0].changes[0].value.statuses[0].id = uniqueWamid;
      await simpleQuery(owner, 'UPDATE messages SET provider_message_id = $1 WHERE id = $2', [uniqueWamid, conv.replies[0]!.replyId]);

      expect((await post(fixture)).statusCode).toBe(200);
      const row = await stateOf(conv.replies[0]!.replyId);
      expect(row.delivery_state).toBe('held');
      expect(row.delivery_error).toContain('whatsapp 131047: Re-engagement message');
      expect(row.delivery_error).toContain('settings.whatsapp.outsideWindowTemplate');
      expect(resent).toHaveLength(0);
      const audit = await simpleQuery(owner, `SELECT action FROM audit_events WHERE tenant_id = $1 AND subject_id = $2 ORDER BY seq`, [
        acme.tenantId,
        conv.replies[0]!.replyId,
      ]);
      expect(audit.rows.map((r) => r.action)).toEqual(['whatsapp.delivery_failed', 'whatsapp.reply_held']);
      await eventually(() =>
        expect(events.filter((e) => e.type === 'delivery_alert' && e.messageId === conv.replies[0]!.replyId).map((e) => (e as { state: string }).state)).toEqual([
          'failed',
          'held',
        ]),
      );
    });

    it('queues a reply refused with 131047 again as the approved template when one is configured', async () => {
      const id = wamid();
      const conv = await seedWhatsAppConversation(databaseUrl(), templated, {
        replies: [{ text: 'Your refund was approved.', deliveryState: 'sent', providerMessageId: id }],
      });
      const status = waStatus(id, 'failed', conv.waId, {
        errors: [{ code: 131047, title: 'Re-engagement message', message: 'Re-engagement message', error_data: { details: 'more than 24 hours' } }],
      });
      expect((await post(waWebhook(templated.phoneNumberId, { statuses: [status] }))).statusCode).toBe(200);
      expect(resent).toEqual([
        {
          v: 1,
          id: conv.replies[0]!.replyId,
          tenantId: templated.tenantId,
          channel: { kind: 'whatsapp', connectionId: templated.connectionId, address: templated.phoneNumberId },
          conversationId: conv.conversationId,
          inReplyTo: conv.replies[0]!.inboundId,
          thread: {},
          recipient: { externalId: conv.waId },
          text: 'Your refund was approved.',
        },
      ]);
      expect((await stateOf(conv.replies[0]!.replyId)).delivery_state).toBe('failed');
    });

    it('settles a reply left `sending` (bridge stopped after the Graph call) from the callback data of its status', async () => {
      const conv = await seedWhatsAppConversation(databaseUrl(), acme, {
        replies: [{ text: 'in flight', deliveryState: 'sending', deliveryAttemptedAt: new Date() }],
      });
      const replyId = conv.replies[0]!.replyId;
      const id = wamid();
      const status = waStatus(id, 'sent', conv.waId, { callbackData: callbackData([replyId], 0) });
      expect((await post(waWebhook(acme.phoneNumberId, { statuses: [status] }))).statusCode).toBe(200);
      expect(await stateOf(replyId)).toMatchObject({ delivery_state: 'sent', provider_message_id: id });
      // Later statuses then find it by wamid.
      await post(waWebhook(acme.phoneNumberId, { statuses: [waStatus(id, 'delivered', conv.waId)] }));
      expect((await stateOf(replyId)).delivery_state).toBe('delivered');
    });

    it('answers 200 to signed statuses and messages of the wrong shape, touching and publishing nothing', async () => {
      const res = await post(
        waWebhook(acme.phoneNumberId, {
          statuses: [{ id: { $ne: null }, status: 'read' }, { id: 'wamid.X', status: ['failed'] }, 'junk', { id: wamid(), status: 'failed', errors: 'x', biz_opaque_callback_data: 5 }],
          messages: [{ id: 7, from: '1650', type: 'text' }, { id: wamid(), from: { a: 1 }, type: 'text' }],
        }),
      );
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ failed: 0, published: 0 });
      const odd = await post({ object: { toString: 1 }, entry: 'x' });
      expect(odd.statusCode).toBe(200);
      expect(published).toHaveLength(0);
    });

    it('ignores a status about a message that is not ours', async () => {
      const res = await post(waWebhook(acme.phoneNumberId, { statuses: [waStatus(wamid(), 'delivered', '16505559999')] }));
      expect(res.statusCode).toBe(200);
      expect(published).toHaveLength(0);
    });
  });
});
