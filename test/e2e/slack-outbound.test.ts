import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { databaseUrl, ownerClient } from '../support/db.ts';
import { eventually } from '../support/eventually.ts';
import { simpleQuery } from '../support/simple-query.ts';
import { postSlack } from '../support/slack.ts';
import { mentionEvent } from '../support/runner-turns.ts';
import { seedSlackTenant, startPlatform, type Platform, type SlackTenant } from '../support/platform.ts';
import { echoReply, type RecordedRequest } from '../fakes/index.ts';
import { textOf } from '../fakes/fake-openai.ts';

/**
 * Issue 4, item 3: replies leave through the official WebClient against the fake Slack Web API —
 * split, converted to mrkdwn, paced per channel, rate limits and failures handled.
 */
describe('Slack outbound delivery', () => {
  let p: Platform;
  let acme: SlackTenant;
  let owner: pg.Client;
  const INTERVAL = 400;
  // Slots are spaced exactly; arrival at the fake adds the HTTP round trip, which varies a little.
  const JITTER = 50;

  beforeAll(async () => {
    p = await startPlatform(databaseUrl(), {
      bridgeEnv: { SLACK_CHANNEL_INTERVAL_MS: String(INTERVAL), SLACK_RETRY_BASE_MS: '200', SLACK_MAX_ATTEMPTS: '3' },
    });
    acme = await seedSlackTenant(databaseUrl(), p.masterKey);
    owner = await ownerClient();
  });
  afterAll(async () => {
    await owner?.end();
    await p?.close();
  });

  const mention = (text: string, channel = 'C0OUTBOUND') => mentionEvent(acme, text, { channel });
  async function send(m: { payload: unknown }) {
    expect((await postSlack(p.bridge.url, m.payload, p.signingSecret)).status).toBe(200);
  }
  const postsIn = (threadTs: string) => p.slack.posts().filter((x) => x.thread_ts === threadTs);
  /** chat.postMessage calls for a thread, failed ones included, in arrival order. */
  const callsFor = (threadTs: string, method = 'chat.postMessage'): RecordedRequest[] =>
    p.slack.requests.filter((r) => r.path === `/api/${method}` && (r.body as { thread_ts?: string; ts?: string } | undefined)?.[method === 'chat.postMessage' ? 'thread_ts' : 'ts'] === threadTs);

  async function reply(m: { ts: string; channel: string }, state: string, timeoutMs = 15_000) {
    return eventually(async () => {
      const { rows } = await simpleQuery(owner, 
        `SELECT r.id, r.delivery_state, r.delivery_error, r.parts_sent, r.provider_message_id
           FROM messages i JOIN messages r ON r.in_reply_to_id = i.id
          WHERE i.tenant_id = $1 AND i.external_id = $2`,
        [acme.tenantId, `${m.channel}:${m.ts}`],
      );
      expect(rows[0]?.delivery_state).toBe(state);
      return rows[0];
    }, timeoutMs);
  }

  it('splits a long Markdown reply into mrkdwn parts under the limit, in order, in the thread', async () => {
    const section = (n: number) =>
      [`## Section ${n}`, '', ...Array.from({ length: 12 }, (_, i) => `- **Item ${n}.${i}**: ${'detail '.repeat(40).trim()} [link](https://example.com/${n}/${i})`)].join('\n');
    const markdown = [1, 2, 3].map(section).join('\n\n');
    p.openai.respond((req) => (textOf(req.messages.at(-1)?.content).includes('the long version') ? { content: markdown } : echoReply(req)));
    const m = mention('the long version');
    try {
      await send(m);
      const row = await reply(m, 'sent', 20_000);
      const posts = postsIn(m.ts);
      expect(posts.length).toBeGreaterThanOrEqual(3);
      expect(row.parts_sent).toBe(posts.length);
      expect(row.provider_message_id).toBe(posts[0]!.ts);
      for (const post of posts) {
        expect(post.text!.length).toBeLessThanOrEqual(3_800);
        expect(post.thread_ts).toBe(m.ts);
      }
      const text = posts.map((x) => x.text).join('\n\n');
      // Headings became bold lines, bullets •, bold *x*, links <url|text>; nothing was lost or reordered.
      expect(text).toContain('*Section 1*');
      expect(text).toContain('• *Item 2.5*: detail');
      expect(text).toContain('<https://example.com/3/11|link>');
      expect(text).not.toContain('**');
      expect(text).not.toContain('](');
      const order = [...text.matchAll(/Item (\d)\.(\d+)\*/g)].map((x) => Number(x[1]) * 100 + Number(x[2]));
      expect(order).toEqual([...order].sort((a, b) => a - b));
      expect(order).toHaveLength(36);
      // Each part is paced like any other message to the channel.
      for (let i = 1; i < posts.length; i++) {
        expect(posts[i]!.receivedAtEpochMs - posts[i - 1]!.receivedAtEpochMs).toBeGreaterThanOrEqual(INTERVAL - JITTER);
      }
    } finally {
      p.openai.respond();
    }
  });

  it('marks the thread as one the employee takes part in once it has answered there', async () => {
    const { Redis } = await import('ioredis');
    const { threadMarkerKey } = await import('../../channel-bridge/src/channels/slack/threads.ts');
    const redis = new Redis('redis://127.0.0.1:6379');
    try {
      const m = mention('mark the thread', 'C0MARK');
      const key = threadMarkerKey(p.redisKeyPrefix, { tenantId: acme.tenantId, teamId: acme.teamId, channel: m.channel, threadTs: m.ts });
      await send(m);
      // The inbound side marked it when the mention was published; forget that, so only the sender can set it again.
      await redis.del(key);
      await reply(m, 'sent');
      await eventually(async () => expect(await redis.exists(key)).toBe(1), 5_000);
      expect(await redis.ttl(key)).toBeGreaterThan(24 * 3600);
    } finally {
      redis.disconnect();
    }
  });

  it('paces messages to one channel and keeps different channels independent', async () => {
    const a = [1, 2, 3].map((i) => mention(`pace A${i}`, 'C0PACEA'));
    const b = [1, 2, 3].map((i) => mention(`pace B${i}`, 'C0PACEB'));
    await Promise.all([...a, ...b].map(send));
    await Promise.all([...a, ...b].map((m) => reply(m, 'sent')));

    const times = (channel: string) =>
      p.slack
        .posts()
        .filter((x) => x.channel === channel)
        .map((x) => x.receivedAtEpochMs)
        .sort((x, y) => x - y);
    const ta = times('C0PACEA');
    const tb = times('C0PACEB');
    expect(ta).toHaveLength(3);
    expect(tb).toHaveLength(3);
    for (const t of [ta, tb]) {
      for (let i = 1; i < t.length; i++) expect(t[i]! - t[i - 1]!).toBeGreaterThanOrEqual(INTERVAL - JITTER);
    }
    // Were the channels paced as one, every two posts would be an interval apart; independent
    // channels post side by side.
    const closest = Math.min(...ta.flatMap((x) => tb.map((y) => Math.abs(x - y))));
    expect(closest).toBeLessThan(INTERVAL / 2);
  });

  it('a burst into one channel waits on the queue, unclaimed: every reply posts once, paced, none read back', async () => {
    // 12 replies at one per INTERVAL is longer than a sender waits inline (3 s): some must go
    // back on the queue. Claimed and released, they would be resumed and read the thread back.
    const burst = Array.from({ length: 12 }, (_, i) => mention(`burst ${i}`, 'C0BURST'));
    await Promise.all(burst.map(send));
    await Promise.all(burst.map((m) => reply(m, 'sent', 30_000)));
    const times = p.slack
      .posts()
      .filter((x) => x.channel === 'C0BURST')
      .map((x) => x.receivedAtEpochMs)
      .sort((x, y) => x - y);
    expect(times).toHaveLength(12);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(INTERVAL - JITTER);
    expect(times.at(-1)! - times[0]!).toBeGreaterThan(3_000);
    for (const m of burst) {
      expect(postsIn(m.ts)).toHaveLength(1);
      expect(callsFor(m.ts, 'conversations.replies')).toEqual([]);
    }
  });

  it("honours a 429's Retry-After: the retry waits that long and the channel is paused meanwhile", async () => {
    p.slack.failNext('chat.postMessage', { retryAfterSec: 2 });
    const m = mention('rate limited', 'C0LIMITED');
    await send(m);
    await eventually(() => expect(callsFor(m.ts)).toHaveLength(1));
    const limitedAt = callsFor(m.ts)[0]!.receivedAtEpochMs;
    // Another reply to the same channel during the pause waits too.
    const other = mention('also waits', 'C0LIMITED');
    await send(other);

    await reply(m, 'sent');
    await reply(other, 'sent');
    const calls = callsFor(m.ts);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.receivedAtEpochMs - limitedAt).toBeGreaterThanOrEqual(2_000);
    expect(calls[1]!.receivedAtEpochMs - limitedAt).toBeLessThan(4_000);
    expect(postsIn(other.ts)[0]!.receivedAtEpochMs - limitedAt).toBeGreaterThanOrEqual(2_000);
    expect(postsIn(m.ts)).toHaveLength(1);
  });

  it('records a permanent refusal on the message without retrying', async () => {
    p.slack.failNext('chat.postMessage', { error: 'is_archived' });
    const m = mention('archived channel', 'C0ARCHIVED');
    await send(m);
    const row = await reply(m, 'failed');
    expect(row.delivery_error).toBe('slack: is_archived');
    await new Promise((r) => setTimeout(r, 500));
    expect(callsFor(m.ts)).toHaveLength(1);
    expect(postsIn(m.ts)).toHaveLength(0);
  });

  it('retries a 5xx with growing backoff and posts once it succeeds', async () => {
    p.slack.failNext('chat.postMessage', { status: 503, error: 'service_unavailable' });
    p.slack.failNext('chat.postMessage', { status: 503, error: 'service_unavailable' });
    const m = mention('flaky slack', 'C0FLAKY');
    await send(m);
    const row = await reply(m, 'sent');
    const calls = callsFor(m.ts);
    expect(calls).toHaveLength(3);
    // Base 200 ms, doubling, ±20 % jitter: not a hot requeue loop.
    expect(calls[1]!.receivedAtEpochMs - calls[0]!.receivedAtEpochMs).toBeGreaterThanOrEqual(160);
    expect(calls[2]!.receivedAtEpochMs - calls[1]!.receivedAtEpochMs).toBeGreaterThanOrEqual(320);
    expect(postsIn(m.ts)).toHaveLength(1);
    expect(row.delivery_error).toBeNull();
  });

  it('does not post again when a 5xx came back for a post Slack had in fact made', async () => {
    p.slack.failNext('chat.postMessage', { status: 500, error: 'internal_error', applied: true });
    const m = mention('posted but 500', 'C0AMBIG');
    await send(m);
    const row = await reply(m, 'sent');
    expect(callsFor(m.ts)).toHaveLength(1);
    expect(postsIn(m.ts)).toHaveLength(1);
    expect(row.provider_message_id).toBe(postsIn(m.ts)[0]!.ts);
    expect(callsFor(m.ts, 'conversations.replies').length).toBeGreaterThanOrEqual(1);
  });

  it('waits and reads again when the read-back itself fails, never posting blind', async () => {
    p.slack.failNext('chat.postMessage', { status: 503, error: 'service_unavailable', applied: true });
    p.slack.failNext('conversations.replies', { status: 503, error: 'service_unavailable' });
    const m = mention('read back fails', 'C0READBACK');
    await send(m);
    await reply(m, 'sent');
    expect(callsFor(m.ts)).toHaveLength(1);
    expect(callsFor(m.ts, 'conversations.replies')).toHaveLength(2);
    expect(postsIn(m.ts)).toHaveLength(1);
  });

  it('gives up after the configured attempts: failed with the reason, and dead-lettered', async () => {
    for (let i = 0; i < 3; i++) p.slack.failNext('chat.postMessage', { status: 502, error: 'bad_gateway' });
    const m = mention('slack is down', 'C0DOWN');
    await send(m);
    const row = await reply(m, 'failed');
    expect(row.delivery_error).toBe('slack: HTTP 502 (after 3 attempts)');
    expect(callsFor(m.ts)).toHaveLength(3);
    expect(postsIn(m.ts)).toHaveLength(0);
    const letters = await eventually(async () => {
      const got = await p.bus.readDeadLetters(10);
      expect(got.length).toBeGreaterThan(0);
      return got;
    });
    expect(letters.map((l) => l.reason)).toContain('slack: HTTP 502 (after 3 attempts)');
    expect(letters.find((l) => l.reason.startsWith('slack: HTTP 502'))!.routingKey).toBe('outbound.slack');
  });
});
