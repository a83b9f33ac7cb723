import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { OwnerClient, databaseUrl } from '../support/db.ts';
import { eventually } from '../support/eventually.ts';
import { postSlack, slackFixture } from '../support/slack.ts';
import { seedSlackTenant, startPlatform, type Platform, type SlackTenant } from '../support/platform.ts';

/**
 * One signed Slack event through the real parts: channel-bridge → RabbitMQ → agent-runner →
 * (fake) OpenAI → RabbitMQ → channel-bridge → (fake) Slack Web API, with Postgres and Redis.
 */
describe('Slack message end to end', () => {
  let p: Platform;
  let acme: SlackTenant;
  let owner: pg.Client;

  beforeAll(async () => {
    p = await startPlatform(databaseUrl());
    // The fixture's workspace belongs to this tenant.
    acme = await seedSlackTenant(databaseUrl(), p.masterKey, { teamId: 'T0001ACME', agentName: 'Ava', persona: 'Cheerful bakery assistant.' });
    owner = new OwnerClient({ connectionString: databaseUrl() });
    await owner.connect();
  });
  afterAll(async () => {
    await owner?.end();
    await p?.close();
  });

  /** Sends a known-good message and waits for its reply: anything published before it has been processed by then. */
  async function barrier(text: string) {
    const before = p.slack.posts().length;
    const ev = slackFixture('app_mention');
    ev.event_id = `EvBARRIER${Date.now()}`;
    ev.event.ts = ev.event.event_ts = `${Math.floor(Date.now() / 1000)}.${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
    ev.event.text = `<@U0BOTUSER> ${text}`;
    expect((await postSlack(p.bridge.url, ev, p.signingSecret)).status).toBe(200);
    const posts = await p.slack.waitForPosts(before + 1, 15_000);
    return posts[before]!;
  }

  it('answers an app_mention in the thread of the original message', async () => {
    const fixture = slackFixture('app_mention');
    const res = await postSlack(p.bridge.url, fixture, p.signingSecret);
    expect(res.status).toBe(200);

    const [post] = await p.slack.waitForPosts(1, 15_000);
    expect(post!.channel).toBe('C0CUSTOMER');
    expect(post!.thread_ts).toBe('1732612345.000200');
    expect(post!.text).toBe('Echo: what are your opening hours on Saturday?');

    // The model got the persona in the system prompt and the text without the bot mention.
    const llm = p.openai.chatRequests().at(-1)!;
    expect(llm.messages[0]!.role).toBe('system');
    expect(String(llm.messages[0]!.content)).toContain('You are Ava, front desk.');
    expect(String(llm.messages[0]!.content)).toContain('Cheerful bakery assistant.');
    expect(llm.messages.at(-1)).toEqual({ role: 'user', content: 'what are your opening hours on Saturday?' });

    // The bot token the bridge used is the tenant's, decrypted.
    const postReq = p.slack.requests.find((r) => r.path === '/api/chat.postMessage')!;
    expect(postReq.headers.authorization).toBe(`Bearer ${acme.botToken}`);

    // Conversation and both messages are persisted; the reply is marked sent with Slack's ts.
    const rows = await eventually(async () => {
      const { rows } = await owner.query(
        `SELECT m.direction, m.author, m.text, m.delivery_state, m.provider_message_id, c.external_ref
           FROM messages m JOIN conversations c ON c.id = m.conversation_id
          WHERE m.tenant_id = $1 ORDER BY m.created_at`,
        [acme.tenantId],
      );
      expect(rows.map((r) => [r.direction, r.author, r.delivery_state])).toEqual([
        ['inbound', 'end_user', 'received'],
        ['outbound', 'agent', 'sent'],
      ]);
      return rows;
    });
    expect(rows[1].provider_message_id).toBe(post!.ts);
    expect(rows[0].external_ref).toBe('slack:T0001ACME:C0CUSTOMER:1732612345.000200');

    const usage = await owner.query('SELECT model, input_tokens, output_tokens FROM usage_records WHERE tenant_id = $1', [acme.tenantId]);
    expect(usage.rows).toHaveLength(1);
    expect(usage.rows[0].output_tokens).toBeGreaterThan(0);
    const audit = await owner.query(`SELECT action, data FROM audit_events WHERE tenant_id = $1`, [acme.tenantId]);
    expect(audit.rows.map((r) => r.action)).toEqual(['llm.call']);
    expect(audit.rows[0].data.outcome).toBe('ok');
  });

  it('gives one reply when Slack retries the event and when the same mention arrives as message.channels', async () => {
    const fixture = slackFixture('app_mention');
    const retry = await postSlack(p.bridge.url, fixture, p.signingSecret, {
      extraHeaders: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' },
    });
    expect(retry.status).toBe(200);
    const second = await postSlack(p.bridge.url, slackFixture('message_channels_same_mention'), p.signingSecret);
    expect(second.status).toBe(200);
    await barrier('are you there?');
    expect(p.slack.posts().filter((x) => x.thread_ts === '1732612345.000200')).toHaveLength(1);
    const { rows } = await owner.query(
      `SELECT count(*)::int AS n FROM messages WHERE tenant_id = $1 AND external_id = 'C0CUSTOMER:1732612345.000200'`,
      [acme.tenantId],
    );
    expect(rows[0].n).toBe(1);
  });

  it('answers url_verification with the challenge', async () => {
    const fixture = slackFixture('url_verification');
    const res = await postSlack(p.bridge.url, fixture, p.signingSecret);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ challenge: fixture.challenge });
  });

  it('refuses forged signatures, stale timestamps and malformed bodies, publishing nothing', async () => {
    const llmBefore = p.openai.chatRequests().length;
    const ev = slackFixture('app_mention');
    ev.event.ts = ev.event.event_ts = '1732619999.000001';
    ev.event.text = '<@U0BOTUSER> forged';

    expect((await postSlack(p.bridge.url, ev, 'not-the-secret')).status).toBe(401);
    const sixMinutesAgo = Math.floor(Date.now() / 1000) - 6 * 60;
    expect((await postSlack(p.bridge.url, ev, p.signingSecret, { timestamp: sixMinutesAgo })).status).toBe(401);
    const unsigned = await fetch(`${p.bridge.url}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ev),
    });
    expect(unsigned.status).toBe(401);
    // A valid signature over a body that is not JSON.
    expect((await postSlack(p.bridge.url, null, p.signingSecret, { rawBody: '{"type":"event_callback",' })).status).toBe(400);

    await barrier('after the bad requests');
    // Only the barrier reached the model.
    expect(p.openai.chatRequests().length).toBe(llmBefore + 1);
    expect(p.openai.chatRequests().some((r) => JSON.stringify(r.messages).includes('forged'))).toBe(false);
  });

  it('acknowledges an unknown workspace with 200 and publishes nothing', async () => {
    const llmBefore = p.openai.chatRequests().length;
    const ev = slackFixture('app_mention');
    ev.team_id = 'T0UNKNOWN';
    ev.event.ts = ev.event.event_ts = '1732618888.000001';
    const res = await postSlack(p.bridge.url, ev, p.signingSecret);
    expect(res.status).toBe(200);
    await barrier('after the unknown team');
    expect(p.openai.chatRequests().length).toBe(llmBefore + 1);
  });

  it('never replies to its own messages or to edits', async () => {
    const llmBefore = p.openai.chatRequests().length;
    const postsBefore = p.slack.posts().length;
    expect((await postSlack(p.bridge.url, slackFixture('own_bot_message'), p.signingSecret)).status).toBe(200);
    expect((await postSlack(p.bridge.url, slackFixture('message_changed'), p.signingSecret)).status).toBe(200);
    await barrier('after own messages');
    expect(p.openai.chatRequests().length).toBe(llmBefore + 1);
    expect(p.slack.posts().length).toBe(postsBefore + 1);
  });

  it('dead-letters a message that fails the contract, with the reason', async () => {
    await p.bus.publish('inbound', 'inbound.slack', { v: 1, tenantId: 'not-a-uuid', text: 42 }, { messageId: 'bad-1' });
    let letters: Awaited<ReturnType<typeof p.bus.readDeadLetters>> = [];
    for (let i = 0; i < 50 && letters.length === 0; i++) {
      letters = await p.bus.readDeadLetters(10);
      if (!letters.length) await new Promise((r) => setTimeout(r, 100));
    }
    expect(letters).toHaveLength(1);
    expect(letters[0]!.reason).toMatch(/invalid KonstructMessage v1: .*tenantId/);
    expect(JSON.parse(letters[0]!.body)).toEqual({ v: 1, tenantId: 'not-a-uuid', text: 42 });
  });

  it('tells the user the employee is unavailable when the model cannot be reached, and logs why', async () => {
    p.openai.respond(() => ({ status: 503, error: { message: 'overloaded', type: 'server_error' } }));
    try {
      const post = await barrier('is the model down?');
      expect(post.text).toMatch(/^Sorry, Ava is unavailable right now/);
      expect(post.thread_ts).toBeDefined();
      const audit = await owner.query(
        `SELECT data FROM audit_events WHERE tenant_id = $1 AND action = 'llm.call' ORDER BY seq DESC LIMIT 1`,
        [acme.tenantId],
      );
      expect(audit.rows[0].data.outcome).toBe('unavailable');
      expect(audit.rows[0].data.reason).toContain('HTTP 503');
    } finally {
      p.openai.respond();
    }
  });

  it('records a reply Slack refuses permanently as failed, with the reason', async () => {
    p.slack.failNext('chat.postMessage', { error: 'channel_not_found' });
    const ev = slackFixture('app_mention');
    ev.event_id = 'EvREFUSED1';
    ev.event.ts = ev.event.event_ts = '1732617777.000001';
    ev.event.text = '<@U0BOTUSER> where is my order?';
    expect((await postSlack(p.bridge.url, ev, p.signingSecret)).status).toBe(200);
    const row = await eventually(async () => {
      const { rows } = await owner.query(
        `SELECT r.delivery_state, r.delivery_error FROM messages r JOIN messages i ON r.in_reply_to_id = i.id
          WHERE i.tenant_id = $1 AND i.external_id = 'C0CUSTOMER:1732617777.000001'`,
        [acme.tenantId],
      );
      expect(rows[0]?.delivery_state).toBe('failed');
      return rows[0];
    });
    expect(row.delivery_error).toBe('slack: channel_not_found');
  });
});
