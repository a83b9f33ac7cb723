import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { Redis } from 'ioredis';
import { keyringFrom } from '@konstruct/core';
import { schema as tenancySchema } from '../../subgraphs/tenancy/src/index.ts';
import { RedisRateLimitCounters } from '../../subgraphs/tenancy/src/domain/rate-limit-counters.ts';
import { OwnerClient, databaseUrl } from '../support/db.ts';
import { eventually } from '../support/eventually.ts';
import { postSlack, slackFixture } from '../support/slack.ts';
import { as, startTestSubgraph } from '../support/subgraph.ts';
import { seedSlackTenant, startPlatform, type Platform, type SlackTenant } from '../support/platform.ts';
import { textOf } from '../fakes/fake-openai.ts';

const COUNTERS = `{ rateLimitCounters { tenant { admitted deferred busy } connections { connectionId admitted deferred busy } } }`;

/**
 * CHAN-05 through the real parts: signed Slack events → channel-bridge (limits in one Redis
 * script) → RabbitMQ (now, or later through the parking queues) → agent-runner → fake Slack;
 * the counters read back through the tenancy subgraph's GraphQL API.
 */
describe('rate limits end to end', () => {
  let p: Platform;
  let owner: pg.Client;
  let redis: Redis;
  let tenancy: Awaited<ReturnType<typeof startTestSubgraph>>;

  beforeAll(async () => {
    // No outbound pacing: the timing measured here is the rate limit's alone.
    p = await startPlatform(databaseUrl(), { bridgeEnv: { SLACK_CHANNEL_INTERVAL_MS: '0' } });
    owner = new OwnerClient({ connectionString: databaseUrl() });
    await owner.connect();
    redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    tenancy = await startTestSubgraph('tenancy', tenancySchema, {
      jwtSecret: randomBytes(32).toString('hex'),
      keyring: keyringFrom(p.masterKey),
      rateLimitCounters: new RedisRateLimitCounters(redis, p.redisKeyPrefix),
    });
  });
  afterAll(async () => {
    await tenancy?.close();
    const keys = p ? await redis.keys(`${p.redisKeyPrefix}*`) : [];
    if (keys.length) await redis.del(...keys);
    redis?.disconnect();
    await owner?.end();
    await p?.close();
  });

  let seq = 0;
  /** A distinct channel mention (own event id and ts) for the tenant's workspace. */
  async function mention(t: SlackTenant, text: string) {
    const ev = slackFixture('app_mention');
    const ts = `${Math.floor(Date.now() / 1000)}.${String(++seq).padStart(6, '0')}`;
    ev.team_id = t.teamId;
    ev.authorizations[0].team_id = t.teamId;
    ev.event_id = `EvRATE${randomBytes(5).toString('hex')}`;
    ev.event.ts = ev.event.event_ts = ts;
    ev.event.client_msg_id = randomUUID();
    ev.event.text = `<@U0BOTUSER> ${text}`;
    const res = await postSlack(p.bridge.url, ev, p.signingSecret);
    expect(res.status).toBe(200);
    return ts;
  }

  async function setLimit(tenantId: string, connectionId: string | null, limit: { perMinute: number; burst: number; action: string; busy?: string }) {
    await owner.query(
      `INSERT INTO rate_limit_settings (id, tenant_id, connection_id, per_minute, burst, over_limit_action, busy_message, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, now())`,
      [randomUUID(), tenantId, connectionId, limit.perMinute, limit.burst, limit.action, limit.busy ?? null],
    );
  }

  it('defers what is over the channel limit and hands it to the runner later, dropping nothing', async () => {
    const t = await seedSlackTenant(databaseUrl(), p.masterKey);
    // One message a second, no burst beyond one.
    await setLimit(t.tenantId, t.connectionId, { perMinute: 60, burst: 1, action: 'defer' });
    const postsBefore = p.slack.posts().length;
    const sentAt = Date.now();
    const texts = ['first question', 'second question', 'third question'];
    for (const text of texts) await mention(t, text);

    const posts = await p.slack.waitForPosts(postsBefore + 3, 15_000);
    expect(posts.slice(postsBefore).map((x) => x.text).sort()).toEqual(texts.map((x) => `Echo: ${x}`).sort());

    // The runner answered the first at once and the others a refill interval apart.
    const { rows } = await owner.query(
      `SELECT i.text AS asked, o.created_at AS answered
         FROM messages o JOIN messages i ON i.id = o.in_reply_to_id
        WHERE o.tenant_id = $1 AND o.direction = 'outbound' ORDER BY o.created_at`,
      [t.tenantId],
    );
    expect(rows.map((r) => r.asked)).toEqual(texts);
    const after = rows.map((r) => new Date(r.answered).getTime() - sentAt);
    // Lower bounds only: a loaded machine can make any answer later, never one earlier.
    expect(after[1]).toBeGreaterThanOrEqual(1_000 - 100);
    expect(after[2]).toBeGreaterThanOrEqual(2_000 - 100);
    expect(after[2]).toBeLessThan(2_000 + 8_000);
    expect(await p.bus.readDeadLetters()).toEqual([]);
    // Every message reached the model exactly once.
    for (const text of texts) expect(p.openai.chatRequests().filter((r) => textOf(r.messages.at(-1)!.content) === text)).toHaveLength(1);

    const counters = await tenancy.call(COUNTERS, {}, as.admin(t.tenantId));
    expect(counters.data.rateLimitCounters).toEqual({
      tenant: { admitted: 1, deferred: 2, busy: 0 },
      connections: [{ connectionId: t.connectionId, admitted: 1, deferred: 2, busy: 0 }],
    });
  });

  it('answers what is over the tenant limit with the busy message, recorded, without calling the model', async () => {
    const t = await seedSlackTenant(databaseUrl(), p.masterKey);
    const busy = "We're swamped right now — we have your message and will get back to you soon.";
    await setLimit(t.tenantId, null, { perMinute: 1, burst: 1, action: 'busy_message', busy });
    const postsBefore = p.slack.posts().length;
    const llmBefore = p.openai.chatRequests().length;

    const firstTs = await mention(t, 'do you deliver on Sundays?');
    const secondTs = await mention(t, 'and what about Mondays?');
    const posts = await p.slack.waitForPosts(postsBefore + 2, 15_000);
    const byThread = Object.fromEntries(posts.slice(postsBefore).map((x) => [x.thread_ts, x.text]));
    expect(byThread[firstTs]).toBe('Echo: do you deliver on Sundays?');
    expect(byThread[secondTs]).toBe(busy);

    // Only the first reached the model.
    expect(p.openai.chatRequests()).toHaveLength(llmBefore + 1);
    expect(p.openai.chatRequests().some((r) => JSON.stringify(r.messages).includes('Mondays'))).toBe(false);

    // The busy message is part of the conversation, and audited.
    const { rows } = await eventually(async () => {
      const r = await owner.query(
        `SELECT i.id AS inbound, i.text AS asked, o.author, o.text AS answer, o.delivery_state
           FROM messages i JOIN messages o ON o.in_reply_to_id = i.id
          WHERE i.tenant_id = $1 AND i.text = 'and what about Mondays?'`,
        [t.tenantId],
      );
      expect(r.rows[0]?.delivery_state).toBe('sent');
      return r;
    });
    expect(rows).toEqual([{ inbound: rows[0].inbound, asked: 'and what about Mondays?', author: 'system', answer: busy, delivery_state: 'sent' }]);
    const audit = await owner.query(`SELECT action, actor_kind, subject_id, data FROM audit_events WHERE tenant_id = $1 ORDER BY seq`, [t.tenantId]);
    expect(audit.rows.map((r) => r.action).sort()).toEqual(['llm.call', 'ratelimit.busy']);
    const busyAudit = audit.rows.find((r) => r.action === 'ratelimit.busy')!;
    expect(busyAudit).toMatchObject({ actor_kind: 'system', subject_id: rows[0].inbound, data: { messageId: rows[0].inbound, connectionId: t.connectionId, channel: 'slack' } });

    const counters = await tenancy.call(COUNTERS, {}, as.admin(t.tenantId));
    expect(counters.data.rateLimitCounters).toEqual({
      tenant: { admitted: 1, deferred: 0, busy: 1 },
      connections: [{ connectionId: t.connectionId, admitted: 1, deferred: 0, busy: 1 }],
    });
    // And no tenant sees another's.
    const other = await tenancy.call(`query($t:ID){ rateLimitCounters(tenantId:$t){ tenantId } }`, { t: t.tenantId }, as.admin(randomUUID()));
    expect(other.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
