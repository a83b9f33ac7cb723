import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import WebSocket from 'ws';
import { createClient, type Client } from 'graphql-ws';
import { hash } from '@node-rs/argon2';
import { databaseUrl, ownerClient } from '../support/db.ts';
import { startFederation, type Federation } from '../support/federation.ts';
import { seedSlackTenant, startPlatform, type Platform, type SlackTenant } from '../support/platform.ts';
import { postSlack, slackFixture } from '../support/slack.ts';
import { Redis } from 'ioredis';
import { tenantEventsChannel } from '@konstruct/core';

/** Collects a subscription's results; resolves `next()` with the next one. */
function subscribe(client: Client, query: string, variables: Record<string, unknown>) {
  const results: { data?: any; errors?: any[] }[] = [];
  const waiters: ((r: unknown) => void)[] = [];
  let failure: unknown = null;
  const dispose = client.subscribe(
    { query, variables },
    {
      next: (r) => {
        results.push(r as never);
        waiters.shift()?.(r);
      },
      error: (e) => {
        failure = e;
        waiters.shift()?.(e);
      },
      complete: () => undefined,
    },
  );
  return {
    dispose,
    async next(timeoutMs = 5_000): Promise<any> {
      if (results.length) return results.shift();
      if (failure) return failure;
      return Promise.race([
        new Promise((r) => waiters.push(r)).then(() => results.shift() ?? failure),
        new Promise((_, reject) => setTimeout(() => reject(new Error('no subscription result in time')), timeoutMs)),
      ]);
    },
  };
}

describe('live subscriptions through the gateway', () => {
  let p: Platform;
  let fed: Federation;
  let owner: pg.Client;
  let acme: SlackTenant;
  let other: SlackTenant;
  let token: string;
  const clients: Client[] = [];

  const wsClient = (connectionParams: Record<string, string>) => {
    const c = createClient({
      url: `${fed.gatewayUrl.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams,
      retryAttempts: 0,
      lazy: true,
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    p = await startPlatform(databaseUrl());
    fed = await startFederation(databaseUrl(), { REDIS_KEY_PREFIX: p.redisKeyPrefix });
    acme = await seedSlackTenant(databaseUrl(), p.masterKey, { agentName: 'Ava' });
    other = await seedSlackTenant(databaseUrl(), p.masterKey, { agentName: 'Bob' });
    owner = await ownerClient();
    const email = `live-${randomUUID()}@example.test`;
    const opId = randomUUID();
    await owner.query(`INSERT INTO operators (id, email, password_hash, display_name) VALUES ($1, $2, $3, 'Op')`, [opId, email, await hash('a proper long password')]);
    await owner.query(`INSERT INTO memberships (id, tenant_id, operator_id, role, accepted_at) VALUES ($1, $2, $3, 'admin', now())`, [randomUUID(), acme.tenantId, opId]);
    const login = await fed.gql(`mutation($e:String!){ login(email:$e, password:"a proper long password"){ ... on Session { token } } }`, { e: email });
    token = login.data.login.token;
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await owner?.end();
    await fed?.close();
    await p?.close();
  });

  const USAGE = `subscription($t: ID!) { usageUpdated(tenantId: $t) { tenantId agentId model inputTokens outputTokens costUsdMicros at agent { name role } } }`;

  function mention(team: string, text: string) {
    const ev = slackFixture('app_mention');
    ev.team_id = team;
    ev.event_id = `Ev${randomUUID().slice(0, 8)}`;
    ev.event.ts = ev.event.event_ts = `${Math.floor(Date.now() / 1000)}.${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
    ev.event.text = `<@U0BOTUSER> ${text}`;
    return ev;
  }

  it('delivers a usage event within 1 s of the runner publishing it, with entity fields resolved through the gateway', async () => {
    const sub = subscribe(wsClient({ authorization: `Bearer ${token}` }), USAGE, { t: acme.tenantId });
    await new Promise((r) => setTimeout(r, 300)); // the subscription is registered before the message is sent
    expect((await postSlack(p.bridge.url, mention(acme.teamId, 'what time do you open?'), p.signingSecret)).status).toBe(200);
    const r = await sub.next(10_000);
    const receivedAt = Date.now();
    expect(r.errors).toBeUndefined();
    const e = r.data.usageUpdated;
    expect(e).toMatchObject({ tenantId: acme.tenantId, agentId: acme.agentId, agent: { name: 'Ava', role: 'front desk' } });
    expect(e.outputTokens).toBeGreaterThan(0);
    expect(receivedAt - Date.parse(e.at)).toBeLessThan(1_000);
    sub.dispose();
  });

  it("never delivers another tenant's events, and refuses to watch a tenant the caller is not in", async () => {
    const mine = subscribe(wsClient({ authorization: `Bearer ${token}` }), USAGE, { t: acme.tenantId });
    const theirs = subscribe(wsClient({ authorization: `Bearer ${token}` }), USAGE, { t: other.tenantId });
    const refused = await theirs.next();
    expect(JSON.stringify(refused)).toMatch(/not a member of that tenant|may not watch/);

    await new Promise((r) => setTimeout(r, 300));
    await postSlack(p.bridge.url, mention(other.teamId, 'hello from the other tenant'), p.signingSecret);
    await postSlack(p.bridge.url, mention(acme.teamId, 'hello from acme'), p.signingSecret);
    const r = await mine.next(10_000);
    expect(r.data.usageUpdated.tenantId).toBe(acme.tenantId);
    mine.dispose();
  });

  it('delivers conversation updates from the runner and escalations from any producer', async () => {
    const client = wsClient({ authorization: `Bearer ${token}` });
    const conv = subscribe(client, `subscription($t: ID!) { conversationUpdated(tenantId: $t) { conversationId agentId state lastMessageId conversation { id state } } }`, { t: acme.tenantId });
    const esc = subscribe(client, `subscription($t: ID!) { escalationRaised(tenantId: $t) { handoffId conversationId reason } }`, { t: acme.tenantId });
    await new Promise((r) => setTimeout(r, 300));
    await postSlack(p.bridge.url, mention(acme.teamId, 'I want to speak to a person'), p.signingSecret);
    const c = await conv.next(10_000);
    expect(c.errors).toBeUndefined();
    expect(c.data.conversationUpdated).toMatchObject({ agentId: acme.agentId, state: 'active', conversation: { state: 'ACTIVE' } });
    expect(c.data.conversationUpdated.conversation.id).toBe(c.data.conversationUpdated.conversationId);

    // Handoffs (the runner's escalation step) publish this event; the delivery path is the same.
    const redis = new Redis();
    const event = {
      type: 'escalation',
      tenantId: acme.tenantId,
      handoffId: randomUUID(),
      conversationId: c.data.conversationUpdated.conversationId,
      agentId: acme.agentId,
      reason: 'user asked for a person',
      at: new Date().toISOString(),
    };
    await redis.publish(tenantEventsChannel(p.redisKeyPrefix, acme.tenantId), JSON.stringify(event));
    await redis.publish(tenantEventsChannel(p.redisKeyPrefix, acme.tenantId), '{"type":"escalation","tenantId":"not valid"}');
    redis.disconnect();
    const e = await esc.next(5_000);
    expect(e.data.escalationRaised).toEqual({ handoffId: event.handoffId, conversationId: event.conversationId, reason: event.reason });
    conv.dispose();
    esc.dispose();
  });

  it('delivers delivery alerts (a held or failed reply) with the conversation resolved through the gateway', async () => {
    const client = wsClient({ authorization: `Bearer ${token}` });
    const conv = subscribe(client, `subscription($t: ID!) { conversationUpdated(tenantId: $t) { conversationId } }`, { t: acme.tenantId });
    const alerts = subscribe(client, `subscription($t: ID!) { deliveryAlertRaised(tenantId: $t) { messageId state code reason conversation { id } } }`, { t: acme.tenantId });
    await new Promise((r) => setTimeout(r, 300));
    await postSlack(p.bridge.url, mention(acme.teamId, 'is the shop open today?'), p.signingSecret);
    const c = await conv.next(10_000);
    const conversationId = c.data.conversationUpdated.conversationId;

    // The WhatsApp sender publishes these (channel-bridge/src/channels/whatsapp/feedback.ts); the delivery path is the same.
    const redis = new Redis();
    const event = {
      type: 'delivery_alert',
      tenantId: acme.tenantId,
      conversationId,
      messageId: randomUUID(),
      channelKind: 'whatsapp',
      state: 'held',
      code: '131047',
      reason: 'outside the 24-hour window and no template is configured',
      at: new Date().toISOString(),
    };
    await redis.publish(tenantEventsChannel(p.redisKeyPrefix, acme.tenantId), JSON.stringify(event));
    redis.disconnect();
    const a = await alerts.next(5_000);
    expect(a.errors).toBeUndefined();
    expect(a.data.deliveryAlertRaised).toEqual({ messageId: event.messageId, state: 'held', code: '131047', reason: event.reason, conversation: { id: conversationId } });
    conv.dispose();
    alerts.dispose();
  });

  it('closes connections without valid credentials', async () => {
    const anon = subscribe(wsClient({}), USAGE, { t: acme.tenantId });
    const forged = subscribe(wsClient({ authorization: 'Bearer not-a-token' }), USAGE, { t: acme.tenantId });
    for (const s of [anon, forged]) {
      const r = await s.next();
      expect(String((r as { code?: number; reason?: string }).code ?? r)).toMatch(/4403|Forbidden/);
    }
  });

  it('runs only subscriptions over WebSocket', async () => {
    const q = subscribe(wsClient({ authorization: `Bearer ${token}` }), `{ me { actorKind } }`, {});
    const r = await q.next();
    expect(JSON.stringify(r)).toMatch(/only subscriptions run over WebSocket/);
  });
});
