import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, keyringFrom, tenantEventsChannel, type KonstructReplyV1, type TenantEvent } from '@konstruct/core';
import type { BusMessage, HandlerResult } from '@konstruct/bus';
import type { Db } from '@konstruct/db';
import { appDb, databaseUrl } from '../../test/support/db.ts';
import { eventually } from '../../test/support/eventually.ts';
import { startFakeWhatsApp, type FakeWhatsApp } from '../../test/fakes/index.ts';
import { seedWhatsAppConversation, seedWhatsAppTenant, simpleQuery, waStatus, type WhatsAppTenant } from '../../test/support/whatsapp.ts';
import { WhatsAppConnections } from '../src/channels/whatsapp/connections.ts';
import { DeliveryFeedback } from '../src/channels/whatsapp/feedback.ts';
import { applyWhatsAppStatus } from '../src/channels/whatsapp/statuses.ts';
import { createWhatsAppSender, WHATSAPP_SEND_MODE_HEADER, type WhatsAppSender } from '../src/outbound/whatsapp-sender.ts';
import { WhatsAppPacer } from '../src/outbound/whatsapp-pacing.ts';

const masterKey = randomBytes(32).toString('base64');
const logger = createLogger('test', 'silent');
const PAIR_MS = 400;
const GRACE_MS = 700;
const TEMPLATE = { whatsapp: { outsideWindowTemplate: { name: 'order_update', language: 'en_US' } } };

describe('WhatsApp sender (fake Graph API, real Postgres and Redis)', () => {
  let db: Db;
  let redis: Redis;
  let sub: Redis;
  let owner: pg.Client;
  let graph: FakeWhatsApp;
  let prefix: string;
  let sender: WhatsAppSender;
  let connections: WhatsAppConnections;
  let feedback: DeliveryFeedback;
  let plain: WhatsAppTenant;
  let templated: WhatsAppTenant;
  const events: TenantEvent[] = [];

  beforeAll(async () => {
    db = appDb();
    redis = new Redis('redis://127.0.0.1:6379');
    // Connected before SUBSCRIBE: ioredis' ready check (INFO) is refused in subscriber mode.
    sub = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
    await sub.connect();
    owner = new pg.Client({ connectionString: databaseUrl() });
    await owner.connect();
    plain = await seedWhatsAppTenant(databaseUrl(), masterKey);
    templated = await seedWhatsAppTenant(databaseUrl(), masterKey, { settings: TEMPLATE });
    sub.on('message', (_c: string, raw: string) => events.push(JSON.parse(raw) as TenantEvent));
  });

  beforeEach(async () => {
    prefix = `test:${randomUUID()}:`;
    for (const t of [plain, templated]) await sub.subscribe(tenantEventsChannel(prefix, t.tenantId));
    // Meta's own pair limit, enforced by the fake: a sender that does not pace gets 131056.
    graph = await startFakeWhatsApp({ pairIntervalMs: PAIR_MS });
    connections = new WhatsAppConnections(db, keyringFrom(masterKey));
    feedback = new DeliveryFeedback(db, redis, prefix, logger);
    sender = newSender();
    events.length = 0;
  });

  function newSender(overrides: { throughputBackoffMs?: number } = {}) {
    return createWhatsAppSender({
      db,
      connections,
      feedback,
      pacer: new WhatsAppPacer(redis, { keyPrefix: prefix, pairIntervalMs: PAIR_MS, throughputBackoffMs: overrides.throughputBackoffMs ?? 500 }),
      graph: { apiUrl: graph.apiUrl, timeoutMs: 2_000 },
      sendingGraceMs: GRACE_MS,
      transientBackoffMs: 100,
      logger,
    });
  }

  afterEach(async () => {
    await sender.close();
    await graph.close();
    for (const t of [plain, templated]) await sub.unsubscribe(tenantEventsChannel(prefix, t.tenantId));
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
  });

  afterAll(async () => {
    sub?.disconnect();
    redis?.disconnect();
    await owner?.end();
    await db?.close();
  });

  type Conv = Awaited<ReturnType<typeof seedWhatsAppConversation>>;

  function delivery(t: WhatsAppTenant, conv: Conv, i = 0, headers: Record<string, unknown> = {}): BusMessage {
    const r = conv.replies[i]!;
    const reply: KonstructReplyV1 = {
      v: 1,
      id: r.replyId,
      tenantId: t.tenantId,
      channel: { kind: 'whatsapp', connectionId: t.connectionId, address: t.phoneNumberId },
      conversationId: conv.conversationId,
      inReplyTo: r.inboundId,
      thread: {},
      recipient: { externalId: conv.waId },
      text: r.text,
    };
    return {
      body: reply,
      messageId: `reply:${r.inboundId}`,
      headers,
      redelivered: false,
      deliveryCount: 0,
      routingKey: 'outbound.whatsapp',
      exchange: 'konstruct.outbound',
    } as BusMessage;
  }

  async function row(id: string) {
    const { rows } = await simpleQuery(owner, 
      'SELECT delivery_state, delivery_error, provider_message_id, parts_sent FROM messages WHERE id = $1',
      [id],
    );
    return rows[0] as { delivery_state: string; delivery_error: string | null; provider_message_id: string | null; parts_sent: number };
  }
  const messageCalls = () => graph.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/messages'));

  it('sends a reply in the Cloud API’s shape with the tenant’s token and records the wamid; a redelivery sends nothing', async () => {
    const conv = await seedWhatsAppConversation(databaseUrl(), plain, { replies: [{ text: 'Your order #4411 shipped today.' }] });
    expect(await sender.deliver(delivery(plain, conv))).toBe('ack');
    const [send] = graph.sends();
    expect(send).toMatchObject({ phoneNumberId: plain.phoneNumberId, to: conv.waId, type: 'text', token: plain.accessToken });
    expect(send!.body).toMatchObject({ messaging_product: 'whatsapp', to: conv.waId, type: 'text', text: { body: 'Your order #4411 shipped today.' } });
    expect(messageCalls()[0]!.headers.authorization).toBe(`Bearer ${plain.accessToken}`);
    expect(send!.callbackData).toContain(conv.replies[0]!.replyId);
    expect(await row(conv.replies[0]!.replyId)).toMatchObject({ delivery_state: 'sent', provider_message_id: send!.wamid, parts_sent: 1 });

    expect(await sender.deliver(delivery(plain, conv))).toBe('ack');
    expect(graph.sends()).toHaveLength(1);
  });

  it('sends at most one message per pair interval to a user, coalescing replies that wait', async () => {
    const conv = await seedWhatsAppConversation(databaseUrl(), plain, { replies: [{ text: 'One.' }, { text: 'Two.' }, { text: 'Three.' }] });
    const other = await seedWhatsAppConversation(databaseUrl(), plain, { replies: [{ text: 'Someone else.' }] });
    const results = await Promise.all([
      sender.deliver(delivery(plain, conv, 0)),
      sender.deliver(delivery(plain, conv, 1)),
      sender.deliver(delivery(plain, conv, 2)),
      sender.deliver(delivery(plain, other, 0)),
    ]);
    expect(results).toEqual(['ack', 'ack', 'ack', 'ack']);
    const toUser = graph.sends().filter((s) => s.to === conv.waId);
    expect(toUser.map((s) => s.text)).toEqual(['One.', 'Two.\n\nThree.']);
    expect(toUser[1]!.at - toUser[0]!.at).toBeGreaterThanOrEqual(PAIR_MS);
    // Another user is not held up by this one's pacing.
    const otherSend = graph.sends().find((s) => s.to === other.waId)!;
    expect(otherSend.at - toUser[0]!.at).toBeLessThan(PAIR_MS);
    // The coalesced replies share the message (and so its statuses).
    const [r2, r3] = [await row(conv.replies[1]!.replyId), await row(conv.replies[2]!.replyId)];
    expect(r2.delivery_state).toBe('sent');
    expect(r2.provider_message_id).toBe(toUser[1]!.wamid);
    expect(r3.provider_message_id).toBe(toUser[1]!.wamid);
    // No 131056 from the fake: pacing kept within Meta's pair limit.
    expect(messageCalls()).toHaveLength(3);
  });

  it('sends a reply over 4096 characters in parts, one pair interval apart', async () => {
    const long = `${'a'.repeat(3000)}\n\n${'b'.repeat(3000)}`;
    const conv = await seedWhatsAppConversation(databaseUrl(), plain, { replies: [{ text: long }] });
    expect(await sender.deliver(delivery(plain, conv))).toBe('ack');
    const sends = graph.sends();
    expect(sends.map((s) => s.text)).toEqual(['a'.repeat(3000), 'b'.repeat(3000)]);
    expect(sends[1]!.at - sends[0]!.at).toBeGreaterThanOrEqual(PAIR_MS);
    expect(sends.map((s) => s.callbackData!.split('#')[1])).toEqual(['0', '1']);
    expect(await row(conv.replies[0]!.replyId)).toMatchObject({ delivery_state: 'sent', parts_sent: 2, provider_message_id: sends[1]!.wamid });
  });

  it('outside the 24-hour window sends the configured approved template with the reply as its parameter', async () => {
    const conv = await seedWhatsAppConversation(databaseUrl(), templated, {
      lastInboundAt: new Date(Date.now() - 25 * 3600_000),
      replies: [{ text: 'Your refund\nwas approved.' }],
    });
    expect(await sender.deliver(delivery(templated, conv))).toBe('ack');
    const [send] = graph.sends();
    expect(send!.type).toBe('template');
    expect(send!.template).toEqual({
      name: 'order_update',
      language: { code: 'en_US' },
      components: [{ type: 'body', parameters: [{ type: 'text', text: 'Your refund was approved.' }] }],
    });
    expect(await row(conv.replies[0]!.replyId)).toMatchObject({ delivery_state: 'sent', provider_message_id: send!.wamid });
    const audit = await simpleQuery(owner, `SELECT action, data FROM audit_events WHERE tenant_id = $1 AND subject_id = $2`, [
      templated.tenantId,
      conv.replies[0]!.replyId,
    ]);
    expect(audit.rows).toEqual([expect.objectContaining({ action: 'whatsapp.reply_sent_as_template' })]);
  });

  it('outside the window without a template holds the reply and alerts the operator; nothing is sent', async () => {
    const conv = await seedWhatsAppConversation(databaseUrl(), plain, {
      lastInboundAt: new Date(Date.now() - 30 * 3600_000),
      replies: [{ text: 'Too late?' }],
    });
    const replyId = conv.replies[0]!.replyId;
    expect(await sender.deliver(delivery(plain, conv))).toBe('ack');
    expect(graph.requests).toHaveLength(0);
    const r = await row(replyId);
    expect(r.delivery_state).toBe('held');
    expect(r.delivery_error).toMatch(/more than 24 hours .*settings\.whatsapp\.outsideWindowTemplate/);
    const audit = await simpleQuery(owner, `SELECT action FROM audit_events WHERE tenant_id = $1 AND subject_id = $2`, [plain.tenantId, replyId]);
    expect(audit.rows.map((a) => a.action)).toEqual(['whatsapp.reply_held']);
    const note = await simpleQuery(owner, `SELECT text FROM messages WHERE conversation_id = $1 AND author = 'system'`, [conv.conversationId]);
    expect(note.rows[0].text).toMatch(/^Reply held: /);
    await eventually(() =>
      expect(events).toContainEqual(expect.objectContaining({ type: 'delivery_alert', messageId: replyId, state: 'held', code: null, channelKind: 'whatsapp' })),
    );
    // Held stays held: a redelivery sends nothing.
    expect(await sender.deliver(delivery(plain, conv))).toBe('ack');
    expect(graph.requests).toHaveLength(0);
  });

  it('on 131047 from the Graph API resends as the template when configured', async () => {
    const conv = await seedWhatsAppConversation(databaseUrl(), templated, { replies: [{ text: 'Here is your answer.' }] });
    graph.failNext({ code: 131047 });
    expect(await sender.deliver(delivery(templated, conv))).toBe('ack');
    expect(messageCalls().map((c) => (c.body as { type: string }).type)).toEqual(['text', 'template']);
    expect(await row(conv.replies[0]!.replyId)).toMatchObject({ delivery_state: 'sent', provider_message_id: graph.sends()[0]!.wamid });
  });

  it('on 131047 from the Graph API without a template holds the reply and alerts', async () => {
    const conv = await seedWhatsAppConversation(databaseUrl(), plain, { replies: [{ text: 'Here is your answer.' }] });
    graph.failNext({ code: 131047 });
    expect(await sender.deliver(delivery(plain, conv))).toBe('ack');
    expect(messageCalls()).toHaveLength(1);
    const r = await row(conv.replies[0]!.replyId);
    expect(r.delivery_state).toBe('held');
    expect(r.delivery_error).toContain('whatsapp 131047: (#131047) Re-engagement message');
    await eventually(() => expect(events).toContainEqual(expect.objectContaining({ type: 'delivery_alert', state: 'held', code: '131047' })));
  });

  it('a delivery asking for the template (after a 131047 status) sends the template for a failed reply', async () => {
    const conv = await seedWhatsAppConversation(databaseUrl(), templated, { replies: [{ text: 'Answer.', deliveryState: 'failed' }] });
    await simpleQuery(owner, `UPDATE messages SET delivery_error = 'whatsapp 131047: Re-engagement message' WHERE id = $1`, [conv.replies[0]!.replyId]);
    // Without the header a failed reply stays failed.
    expect(await sender.deliver(delivery(templated, conv))).toBe('ack');
    expect(graph.sends()).toHaveLength(0);
    expect(await sender.deliver(delivery(templated, conv, 0, { [WHATSAPP_SEND_MODE_HEADER]: 'template' }))).toBe('ack');
    expect(graph.sends().map((s) => s.type)).toEqual(['template']);
    expect((await row(conv.replies[0]!.replyId)).delivery_state).toBe('sent');
  });

  it('backs off after 130429 instead of retrying hot, then sends', async () => {
    await sender.close();
    sender = newSender({ throughputBackoffMs: 600 });
    const conv = await seedWhatsAppConversation(databaseUrl(), plain, { replies: [{ text: 'Busy number.' }] });
    graph.failNext({ code: 130429 });
    const started = Date.now();
    expect(await sender.deliver(delivery(plain, conv))).toBe('ack');
    const calls = messageCalls();
    expect(calls).toHaveLength(2);
    expect(calls[1]!.receivedAtEpochMs - calls[0]!.receivedAtEpochMs).toBeGreaterThanOrEqual(590);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await row(conv.replies[0]!.replyId)).delivery_state).toBe('sent');
  });

  it('backs off for the user after 131056, longer than the pair interval', async () => {
    const conv = await seedWhatsAppConversation(databaseUrl(), plain, { replies: [{ text: 'Pair limited.' }] });
    graph.failNext({ code: 131056 });
    expect(await sender.deliver(delivery(plain, conv))).toBe('ack');
    const calls = messageCalls();
    expect(calls).toHaveLength(2);
    expect(calls[1]!.receivedAtEpochMs - calls[0]!.receivedAtEpochMs).toBeGreaterThanOrEqual(1_000 - 10);
  });

  it('records a permanent refusal on the reply, reports it, and does not retry', async () => {
    const conv = await seedWhatsAppConversation(databaseUrl(), plain, { replies: [{ text: 'To a landline.' }] });
    graph.failNext({ code: 131026 });
    expect(await sender.deliver(delivery(plain, conv))).toBe('ack');
    expect(messageCalls()).toHaveLength(1);
    expect(await row(conv.replies[0]!.replyId)).toMatchObject({
      delivery_state: 'failed',
      delivery_error: 'whatsapp 131026: (#131026) Message undeliverable (Unable to deliver message.)',
    });
    const audit = await simpleQuery(owner, `SELECT action FROM audit_events WHERE tenant_id = $1 AND subject_id = $2`, [plain.tenantId, conv.replies[0]!.replyId]);
    expect(audit.rows.map((a) => a.action)).toEqual(['whatsapp.delivery_failed']);
  });

  it('retries a transient Graph error (131000) and then sends once', async () => {
    const conv = await seedWhatsAppConversation(databaseUrl(), plain, { replies: [{ text: 'Flaky.' }] });
    graph.failNext({ code: 131000 });
    expect(await sender.deliver(delivery(plain, conv))).toBe('ack');
    expect(messageCalls()).toHaveLength(2);
    expect(graph.sends()).toHaveLength(1);
  });

  describe('exactly once when the send outcome is unknown', () => {
    it('a status webhook carrying the callback data settles it: no second send', async () => {
      const conv = await seedWhatsAppConversation(databaseUrl(), plain, { replies: [{ text: 'Did this go out?' }] });
      const replyId = conv.replies[0]!.replyId;
      graph.failNext({ dropAfterAccept: true });
      const pending = sender.deliver(delivery(plain, conv));
      const [accepted] = await graph.waitForSends(1);
      await eventually(async () => expect((await row(replyId)).delivery_state).toBe('sending'));
      // Meta's `sent` status for the message we never heard back about.
      await applyWhatsAppStatus(
        { db, feedback, connections, resendAsTemplate: async () => undefined, logger },
        { tenantId: plain.tenantId, connectionId: plain.connectionId, phoneNumberId: plain.phoneNumberId },
        waStatus(accepted!.wamid, 'sent', conv.waId, { callbackData: accepted!.callbackData }),
      );
      expect(await pending).toBe('ack');
      expect(graph.sends()).toHaveLength(1);
      expect(await row(replyId)).toMatchObject({ delivery_state: 'sent', provider_message_id: accepted!.wamid });
    });

    it('without any status it is sent again only after the grace period', async () => {
      const conv = await seedWhatsAppConversation(databaseUrl(), plain, { replies: [{ text: 'Lost answer.' }] });
      graph.failNext({ dropAfterAccept: true });
      expect(await sender.deliver(delivery(plain, conv))).toBe('ack');
      const sends = graph.sends();
      expect(sends).toHaveLength(2);
      expect(sends[1]!.at - sends[0]!.at).toBeGreaterThanOrEqual(GRACE_MS - 20);
      expect(await row(conv.replies[0]!.replyId)).toMatchObject({ delivery_state: 'sent', provider_message_id: sends[1]!.wamid });
    });

    it('a redelivery finding the reply `sending` (bridge died after the Graph call) waits for the status instead of posting', async () => {
      const conv = await seedWhatsAppConversation(databaseUrl(), plain, {
        replies: [{ text: 'Sent before the crash.', deliveryState: 'sending', deliveryAttemptedAt: new Date() }],
      });
      const replyId = conv.replies[0]!.replyId;
      const redelivered = sender.deliver({ ...delivery(plain, conv), redelivered: true, deliveryCount: 1 });
      await new Promise((r) => setTimeout(r, 150));
      expect(graph.requests).toHaveLength(0);
      const wamid = `wamid.HBgL${randomBytes(12).toString('base64')}`;
      await applyWhatsAppStatus(
        { db, feedback, connections, resendAsTemplate: async () => undefined, logger },
        { tenantId: plain.tenantId, connectionId: plain.connectionId, phoneNumberId: plain.phoneNumberId },
        waStatus(wamid, 'delivered', conv.waId, { callbackData: `kr1:${replyId}#0` }),
      );
      expect(await redelivered).toBe('ack');
      expect(graph.requests).toHaveLength(0);
      expect(await row(replyId)).toMatchObject({ delivery_state: 'delivered', provider_message_id: wamid });
    });
  });

  it('records a reply on a connection without an access token as failed', async () => {
    const tokenless = await seedWhatsAppTenant(databaseUrl(), masterKey, { accessToken: null });
    const conv = await seedWhatsAppConversation(databaseUrl(), tokenless, { replies: [{ text: 'No token.' }] });
    expect(await sender.deliver(delivery(tokenless, conv))).toBe('ack');
    expect(graph.requests).toHaveLength(0);
    expect(await row(conv.replies[0]!.replyId)).toMatchObject({ delivery_state: 'failed', delivery_error: 'whatsapp connection has no access token' });
  });

  it('dead-letters a reply that fails the contract', async () => {
    const result = await sender.deliver({ ...delivery(plain, await seedWhatsAppConversation(databaseUrl(), plain, { replies: [{ text: 'x' }] })), body: { v: 1 } });
    expect(result).toEqual({ deadLetter: expect.stringMatching(/^invalid KonstructReply v1: /) });
  });

  it('on shutdown, a delivery waiting for its pair slot goes back to the queue unsent', async () => {
    const conv = await seedWhatsAppConversation(databaseUrl(), plain, { replies: [{ text: 'First.' }, { text: 'Second.' }] });
    expect(await sender.deliver(delivery(plain, conv, 0))).toBe('ack');
    const waiting: Promise<HandlerResult> = sender.deliver(delivery(plain, conv, 1));
    await new Promise((r) => setTimeout(r, 50));
    await sender.close();
    expect(await waiting).toBe('retry');
    expect(graph.sends()).toHaveLength(1);
    expect((await row(conv.replies[1]!.replyId)).delivery_state).toBe('pending');
  });
});
