import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { Redis } from 'ioredis';
import { tenantEventsChannel, type TenantEvent } from '@konstruct/core';
import { databaseUrl } from '../support/db.ts';
import { eventually } from '../support/eventually.ts';
import { startPlatform, type Platform } from '../support/platform.ts';
import {
  postWhatsApp,
  retarget,
  simpleQuery,
  seedWhatsAppTenant,
  waContact,
  waStatus,
  waText,
  waWebhook,
  whatsappFixture,
  type WhatsAppTenant,
} from '../support/whatsapp.ts';

/**
 * Signed WhatsApp webhooks through the real parts: channel-bridge → RabbitMQ → agent-runner →
 * (fake) OpenAI → RabbitMQ → channel-bridge → (fake) Graph API, with Postgres and Redis. The
 * pair interval is shortened to 300 ms here; its 6-second default is unit-tested.
 */
describe('WhatsApp end to end', () => {
  let p: Platform;
  let shop: WhatsAppTenant;
  let templated: WhatsAppTenant;
  let owner: pg.Client;
  let sub: Redis;
  const events: TenantEvent[] = [];

  beforeAll(async () => {
    p = await startPlatform(databaseUrl(), { whatsapp: { pairIntervalMs: 300, sendingGraceMs: 2_000 } });
    // A number of its own (the fixtures are re-targeted to it): other test files connect the fixtures' number.
    shop = await seedWhatsAppTenant(databaseUrl(), p.masterKey);
    templated = await seedWhatsAppTenant(databaseUrl(), p.masterKey, {
      settings: { whatsapp: { outsideWindowTemplate: { name: 'order_update', language: 'en_US' } } },
    });
    owner = new pg.Client({ connectionString: databaseUrl() });
    await owner.connect();
    // Connected before SUBSCRIBE: ioredis' ready check (INFO) is refused in subscriber mode.
    sub = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
    await sub.connect();
    for (const t of [shop, templated]) await sub.subscribe(tenantEventsChannel(p.redisKeyPrefix, t.tenantId));
    sub.on('message', (_c: string, raw: string) => events.push(JSON.parse(raw) as TenantEvent));
  });
  afterAll(async () => {
    sub?.disconnect();
    await owner?.end();
    await p?.close();
  });

  const post = (payload: unknown) => postWhatsApp(p.bridge.url, payload, p.whatsappAppSecret!);

  async function replyTo(t: WhatsAppTenant, inboundWamid: string) {
    return eventually(async () => {
      const { rows } = await simpleQuery(owner, 
        `SELECT r.id, r.text, r.delivery_state, r.delivery_error, r.provider_message_id, r.conversation_id
           FROM messages r JOIN messages i ON r.in_reply_to_id = i.id
          WHERE i.tenant_id = $1 AND i.external_id = $2`,
        [t.tenantId, inboundWamid],
      );
      expect(rows).toHaveLength(1);
      return rows[0] as { id: string; text: string; delivery_state: string; delivery_error: string | null; provider_message_id: string | null; conversation_id: string };
    }, 15_000);
  }

  it('answers the subscription handshake of the real server', async () => {
    const ok = await fetch(`${p.bridge.url}/whatsapp/webhook?hub.mode=subscribe&hub.challenge=CH4LL3NGE&hub.verify_token=${p.whatsappVerifyToken}`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('CH4LL3NGE');
    const refused = await fetch(`${p.bridge.url}/whatsapp/webhook?hub.mode=subscribe&hub.challenge=x&hub.verify_token=nope`);
    expect(refused.status).toBe(403);
  });

  it('answers a signed text message through the Graph API in the official request shape, and tracks its statuses', async () => {
    const fixture = retarget(whatsappFixture('text'), shop.phoneNumberId, { freshTimestamps: true });
    const inbound = fixture.entry[0].changes[0].value.messages[0];
    const res = await post(fixture);
    expect(res.status).toBe(200);

    const [send] = await p.whatsapp!.waitForSends(1, 15_000);
    const request = p.whatsapp!.requests.find((r) => r.method === 'POST')!;
    expect(request.path).toBe(`/v21.0/${shop.phoneNumberId}/messages`);
    expect(request.headers.authorization).toBe(`Bearer ${shop.accessToken}`);
    expect(request.body).toMatchObject({ messaging_product: 'whatsapp', to: '16505551234', type: 'text', text: { body: expect.any(String) } });

    const reply = await eventually(async () => {
      const r = await replyTo(shop, inbound.id);
      expect(r.delivery_state).toBe('sent');
      return r;
    });
    expect(send!.text).toBe(reply.text);
    expect(reply.provider_message_id).toBe(send!.wamid);
    // The model saw what the user wrote.
    expect(JSON.stringify(p.openai.chatRequests().at(-1)!.messages)).toContain('Hi, is my order #4411 shipped yet?');

    const conv = await simpleQuery(owner, 'SELECT external_ref, end_user_external_id, last_inbound_at FROM conversations WHERE id = $1', [reply.conversation_id]);
    expect(conv.rows[0]).toMatchObject({ external_ref: `whatsapp:${shop.phoneNumberId}:16505551234`, end_user_external_id: '16505551234' });
    expect(new Date(conv.rows[0].last_inbound_at).getTime()).toBe(Number(inbound.timestamp) * 1000);

    // Statuses arrive on the same webhook; they move the reply forward and are never answered.
    const llmCalls = p.openai.chatRequests().length;
    const delivered = retarget(whatsappFixture('status_delivered'), shop.phoneNumberId);
    delivered.entry[0].changes[0].value.statuses[0].id = send!.wamid;
    expect((await post(delivered)).status).toBe(200);
    expect((await post(waWebhook(shop.phoneNumberId, { statuses: [waStatus(send!.wamid, 'read', '16505551234')] }))).status).toBe(200);
    expect((await post(waWebhook(shop.phoneNumberId, { statuses: [waStatus(send!.wamid, 'sent', '16505551234')] }))).status).toBe(200);
    const final = await replyTo(shop, inbound.id);
    expect(final.delivery_state).toBe('read');
    expect(p.openai.chatRequests().length).toBe(llmCalls);
    expect(p.whatsapp!.sends()).toHaveLength(1);
  });

  it('gives one reply when Meta delivers the same webhook three times', async () => {
    const from = '16505550101';
    const msg = waText(from, 'When will order #5521 arrive?');
    const payload = waWebhook(shop.phoneNumberId, { contacts: [waContact(from)], messages: [msg] });
    for (let i = 0; i < 3; i++) expect((await post(payload)).status).toBe(200);
    const reply = await eventually(async () => {
      const r = await replyTo(shop, msg.id);
      expect(r.delivery_state).toBe('sent');
      return r;
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(p.whatsapp!.sends().filter((s) => s.to === from)).toHaveLength(1);
    const { rows } = await simpleQuery(owner, 'SELECT count(*)::int AS n FROM messages WHERE tenant_id = $1 AND external_id = $2', [shop.tenantId, msg.id]);
    expect(rows[0].n).toBe(1);
    expect(reply.provider_message_id).toBe(p.whatsapp!.sends().find((s) => s.to === from)!.wamid);
  });

  it('publishes every message of one POST, and answers the user at most once per pair interval', async () => {
    const from = '16505550202';
    const messages = [waText(from, 'Where is my parcel?'), waText(from, 'It was order #7001.'), waText(from, 'Thanks!')];
    expect((await post(waWebhook(shop.phoneNumberId, { contacts: [waContact(from)], messages }))).status).toBe(200);
    const replies: Awaited<ReturnType<typeof replyTo>>[] = [];
    for (const m of messages) replies.push(await replyTo(shop, m.id));
    await eventually(async () => {
      for (const r of replies) {
        const { rows } = await simpleQuery(owner, 'SELECT delivery_state FROM messages WHERE id = $1', [r.id]);
        expect(rows[0].delivery_state).toBe('sent');
      }
    }, 15_000);
    const sends = p.whatsapp!.sends().filter((s) => s.to === from);
    // Three replies, fewer or equal messages (coalesced when they waited together), paced apart.
    expect(sends.length).toBeGreaterThanOrEqual(1);
    expect(sends.length).toBeLessThanOrEqual(3);
    for (let i = 1; i < sends.length; i++) expect(sends[i]!.at - sends[i - 1]!.at).toBeGreaterThanOrEqual(300);
    const delivered = sends.map((s) => s.text).join('\n\n');
    for (const r of replies) expect(delivered).toContain(r.text);
  });

  it('holds a reply outside the 24-hour window when no template is configured, and alerts the operator', async () => {
    const from = '16505550303';
    // Meta retried this webhook for more than a day: the user wrote 25 hours ago.
    const msg = waText(from, 'Is the shop open on Sunday?', { timestamp: String(Math.floor(Date.now() / 1000) - 25 * 3600) });
    expect((await post(waWebhook(shop.phoneNumberId, { contacts: [waContact(from)], messages: [msg] }))).status).toBe(200);
    const reply = await eventually(async () => {
      const r = await replyTo(shop, msg.id);
      expect(r.delivery_state).toBe('held');
      return r;
    });
    expect(reply.delivery_error).toContain('more than 24 hours');
    expect(p.whatsapp!.sends().filter((s) => s.to === from)).toHaveLength(0);
    const audit = await simpleQuery(owner, `SELECT action FROM audit_events WHERE tenant_id = $1 AND subject_id = $2`, [shop.tenantId, reply.id]);
    expect(audit.rows.map((a) => a.action)).toEqual(['whatsapp.reply_held']);
    await eventually(() => expect(events).toContainEqual(expect.objectContaining({ type: 'delivery_alert', messageId: reply.id, state: 'held' })));
  });

  it('sends the approved template outside the window when one is configured', async () => {
    const from = '16505550404';
    const msg = waText(from, 'Any news on my refund?', { timestamp: String(Math.floor(Date.now() / 1000) - 26 * 3600) });
    expect((await post(waWebhook(templated.phoneNumberId, { contacts: [waContact(from)], messages: [msg] }))).status).toBe(200);
    const [send] = await eventually(async () => {
      const s = p.whatsapp!.sends().filter((x) => x.to === from);
      expect(s).toHaveLength(1);
      return s;
    }, 15_000);
    expect(send!.type).toBe('template');
    expect(send!.token).toBe(templated.accessToken);
    expect(send!.template).toMatchObject({ name: 'order_update', language: { code: 'en_US' } });
    const reply = await eventually(async () => {
      const r = await replyTo(templated, msg.id);
      expect(r.delivery_state).toBe('sent');
      return r;
    });
    expect(send!.template!.components).toEqual([{ type: 'body', parameters: [{ type: 'text', text: reply.text.replace(/\s+/g, ' ').trim() }] }]);
  });

  it('feeds a failed status back to the conversation and audit, and re-sends on 131047 as the template', async () => {
    const from = '16505550505';
    const msg = waText(from, 'Can I return the blue jacket?');
    expect((await post(waWebhook(templated.phoneNumberId, { contacts: [waContact(from)], messages: [msg] }))).status).toBe(200);
    const sent = await eventually(async () => {
      const r = await replyTo(templated, msg.id);
      expect(r.delivery_state).toBe('sent');
      return r;
    });
    // Meta accepted it, then reports 131047 (the fixture's error), as it does for a closed window.
    const failed = retarget(whatsappFixture('status_failed_131047'), templated.phoneNumberId);
    failed.entry[0].changes[0].value.statuses[0].id = sent.provider_message_id;
    failed.entry[0].changes[0].value.statuses[0].recipient_id = from;
    expect((await post(failed)).status).toBe(200);

    const [template] = await eventually(async () => {
      const s = p.whatsapp!.sends().filter((x) => x.to === from && x.type === 'template');
      expect(s).toHaveLength(1);
      return s;
    }, 15_000);
    const after = await eventually(async () => {
      const r = await replyTo(templated, msg.id);
      expect(r.delivery_state).toBe('sent');
      return r;
    });
    expect(after.provider_message_id).toBe(template!.wamid);
    const notes = await simpleQuery(owner, `SELECT text FROM messages WHERE conversation_id = $1 AND author = 'system'`, [sent.conversation_id]);
    expect(notes.rows.map((n) => n.text)).toEqual([expect.stringContaining('whatsapp 131047: Re-engagement message')]);
    const audit = await simpleQuery(owner, `SELECT action FROM audit_events WHERE tenant_id = $1 AND subject_id = $2 ORDER BY seq`, [templated.tenantId, sent.id]);
    expect(audit.rows.map((a) => a.action)).toEqual(['whatsapp.delivery_failed', 'whatsapp.reply_sent_as_template']);
  });

  it('refuses forged and unsigned webhooks and publishes nothing', async () => {
    const llmBefore = p.openai.chatRequests().length;
    const from = '16505550606';
    const payload = waWebhook(shop.phoneNumberId, { contacts: [waContact(from)], messages: [waText(from, `forged ${randomUUID()}`)] });
    expect((await postWhatsApp(p.bridge.url, payload, 'not-the-app-secret')).status).toBe(401);
    expect((await postWhatsApp(p.bridge.url, payload, p.whatsappAppSecret!, { signature: null })).status).toBe(401);
    // A known-good message after them: when its reply exists, anything before it was processed.
    const barrier = waText(from, 'Do you ship to Canada?');
    expect((await post(waWebhook(shop.phoneNumberId, { contacts: [waContact(from)], messages: [barrier] }))).status).toBe(200);
    await replyTo(shop, barrier.id);
    expect(p.openai.chatRequests().length).toBe(llmBefore + 1);
    expect(p.openai.chatRequests().some((r) => JSON.stringify(r.messages).includes('forged'))).toBe(false);
  });
});
