import { randomBytes, randomUUID } from 'node:crypto';
import { encryptSecret, keyringFrom, secretContext, secretHint, tenantEventsChannel } from '@konstruct/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { simpleQuery } from '../support/simple-query.ts';
import { Redis } from 'ioredis';
import { OwnerClient, appDb, databaseUrl } from '../support/db.ts';
import { tenantScope } from '@konstruct/db';
import { releaseHandoff } from '../../subgraphs/agent/src/data/handoffs.ts';
import { eventually } from '../support/eventually.ts';
import { seedSlackTenant, startPlatform, type Platform, type SlackTenant } from '../support/platform.ts';
import { mention, postsIn, threadMessage, waitForThreadPosts } from '../support/runner-turns.ts';
import type { ChatRequest } from '../fakes/index.ts';
import { postWhatsApp, seedWhatsAppTenant, waContact, waText, waWebhook, type WhatsAppTenant } from '../support/whatsapp.ts';

const HUMANS = 'C0HUMANS';

/**
 * Escalation end to end (AGNT-05): a rule fires, the summary and transcript go to the tenant's
 * human Slack channel (fake Slack, real bridge and SDK), the employee is paused on the
 * conversation; what a person writes in that thread reaches the customer; `release` hands the
 * conversation back.
 */
describe('runner: escalation and handoff', () => {
  let p: Platform;
  let t: SlackTenant;
  let owner: pg.Client;

  beforeAll(async () => {
    p = await startPlatform(databaseUrl(), { runnerEnv: { LLM_MAX_RETRIES: '0' } });
    t = await seedSlackTenant(databaseUrl(), p.masterKey, { agentName: 'Ava' });
    owner = new OwnerClient({ connectionString: databaseUrl() });
    await owner.connect();
    const target = JSON.stringify({ kind: 'slack', connectionId: t.connectionId, channel: HUMANS });
    const rule = (trigger: string, pattern: string | null, threshold: number | null = null) =>
      owner.query(
        `INSERT INTO escalation_rules (id, tenant_id, agent_id, trigger, pattern, threshold, target) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [randomUUID(), t.tenantId, t.agentId, trigger, pattern, threshold, target],
      );
    await rule('keyword', 'refund, chargeback');
    await rule('user_request', null);
    await rule('model_decides', null);
    await rule('tool_failures', null, 2);
    const toolId = randomUUID();
    await owner.query(
      `INSERT INTO tool_definitions (id, tenant_id, name, description, kind, updated_at) VALUES ($1, $2, 'current_time', '', 'builtin', now())`,
      [toolId, t.tenantId],
    );
    await owner.query('INSERT INTO agent_tools (tenant_id, agent_id, tool_id) VALUES ($1, $2, $3)', [t.tenantId, t.agentId, toolId]);
  });
  afterAll(async () => {
    p.openai.respond();
    await owner?.end();
    await p?.close();
  });

  const conversationOf = async (threadTs: string) =>
    (await simpleQuery(owner, `SELECT id, state FROM conversations WHERE tenant_id = $1 AND external_ref = 'slack:' || $2 || ':C0CUSTOMER:' || $3`, [t.tenantId, t.teamId, threadTs]))
      .rows[0] as { id: string; state: string };
  const handoffOf = async (conversationId: string) =>
    (await simpleQuery(owner, 'SELECT * FROM handoffs WHERE conversation_id = $1 ORDER BY created_at DESC', [conversationId])).rows[0];
  const humanPosts = () => p.slack.posts().filter((x) => x.channel === HUMANS && !x.thread_ts);
  /** Another conversation answered: every message sent before it has been handled by then. */
  async function barrier() {
    const sent = await mention(p, t, 'barrier: what are your opening hours?');
    await waitForThreadPosts(p, sent.threadTs, 1);
  }

  it('hands over on a keyword, pauses the employee, relays the human, and releases', async () => {
    const humansBefore = humanPosts().length;
    const llmBefore = p.openai.chatRequests().length;
    // Operators watching live (escalationRaised) hear of the handoff from the runner.
    const live = new Redis('redis://127.0.0.1:6379');
    const liveEvents: { type: string; handoffId?: string; conversationId?: string; reason?: string }[] = [];
    live.on('message', (_c: string, raw: string) => liveEvents.push(JSON.parse(raw)));
    await live.subscribe(tenantEventsChannel(p.redisKeyPrefix, t.tenantId));
    const sent = await mention(p, t, 'I want a refund for my broken cake');

    // The customer is told a person takes over; the model was not asked.
    const [notice] = await waitForThreadPosts(p, sent.threadTs, 1);
    expect(notice!.text).toMatch(/asked a colleague to take over/);
    expect(p.openai.chatRequests().length).toBe(llmBefore);

    // The human channel got the summary and the transcript, as a new thread.
    await eventually(() => expect(humanPosts().length).toBe(humansBefore + 1));
    const post = humanPosts().at(-1)!;
    expect(post.text).toContain('refund');
    expect(post.text).toContain('I want a refund for my broken cake');
    expect(post.text).toContain('release');

    const conv = await conversationOf(sent.threadTs);
    expect(conv.state).toBe('paused');
    // The turn (message and notice) is in the conversation's window although no model answered.
    const redis = new Redis('redis://127.0.0.1:6379');
    try {
      const win = await eventually(async () => {
        const list = await redis.lrange(`${p.redisKeyPrefix}t:${t.tenantId}:win:${conv.id}`, 0, -1);
        expect(list).toHaveLength(1);
        return list;
      });
      expect(win[0]).toContain('I want a refund for my broken cake');
      expect(win[0]).toContain('asked a colleague to take over');
    } finally {
      redis.disconnect();
    }
    const handoff = await eventually(async () => {
      const h = await handoffOf(conv.id);
      expect(h.human_thread.ts).toBe(post.ts);
      return h;
    });
    expect(handoff.status).toBe('open');
    expect(handoff.reason).toContain('refund');
    await eventually(() => expect(liveEvents.filter((e) => e.type === 'escalation')).toHaveLength(1));
    expect(liveEvents.find((e) => e.type === 'escalation')).toMatchObject({ handoffId: handoff.id, conversationId: conv.id });
    live.disconnect();
    expect(handoff.human_thread).toMatchObject({ kind: 'slack', channel: HUMANS, connectionId: t.connectionId });
    const audits = await simpleQuery(owner, `SELECT action, data FROM audit_events WHERE tenant_id = $1 AND subject_id IN ($2, $3) ORDER BY seq`, [
      t.tenantId,
      handoff.id,
      (await simpleQuery(owner, `SELECT id FROM messages WHERE conversation_id = $1 AND direction = 'inbound'`, [conv.id])).rows[0].id,
    ]);
    expect(audits.rows.map((r) => r.action)).toEqual(['handoff.created', 'escalation.matched']);
    expect(audits.rows[0].data).toMatchObject({ trigger: 'keyword', handoffId: handoff.id });

    // While paused, the employee never answers the customer.
    const llmPaused = p.openai.chatRequests().length;
    await mention(p, t, 'hello? is anyone there?', { threadTs: sent.threadTs });
    await barrier();
    expect(postsIn(p, sent.threadTs)).toHaveLength(1);
    expect(p.openai.chatRequests().length).toBe(llmPaused + 1); // the barrier's call only
    // The people who took over see it in their thread.
    const [forwarded] = await waitForThreadPosts(p, post.ts, 1);
    expect(forwarded!.channel).toBe(HUMANS);
    expect(forwarded!.text).toContain('hello? is anyone there?');

    // A person answers in the human thread: the customer gets it in their thread.
    await threadMessage(p, t, "Hi, I'm Sam from the bakery. I'll refund you today.", { channel: HUMANS, threadTs: post.ts });
    const [, relayed] = await waitForThreadPosts(p, sent.threadTs, 2);
    expect(relayed!.text).toBe("Hi, I'm Sam from the bakery. I'll refund you today.");
    expect(relayed!.channel).toBe('C0CUSTOMER');
    const human = await eventually(async () => {
      const { rows } = await simpleQuery(owner, `SELECT author, delivery_state, sender_external_id FROM messages WHERE conversation_id = $1 AND author = 'human'`, [conv.id]);
      expect(rows[0]?.delivery_state).toBe('sent');
      return rows;
    });
    expect(human).toEqual([{ author: 'human', delivery_state: 'sent', sender_external_id: 'U0HUMAN01' }]);

    // Release from the thread: the employee answers again.
    await threadMessage(p, t, 'release', { channel: HUMANS, threadTs: post.ts });
    await eventually(async () => expect((await handoffOf(conv.id)).status).toBe('released'));
    const released = await handoffOf(conv.id);
    expect(released.released_by).toBe('slack:U0HUMAN01');
    expect((await conversationOf(sent.threadTs)).state).toBe('active');
    await eventually(() => expect(p.slack.posts().some((x) => x.channel === HUMANS && x.thread_ts === post.ts && /Released/.test(x.text ?? ''))).toBe(true));
    const rel = await simpleQuery(owner, `SELECT actor_id FROM audit_events WHERE tenant_id = $1 AND action = 'handoff.released' AND subject_id = $2`, [t.tenantId, handoff.id]);
    expect(rel.rows).toEqual([{ actor_id: 'slack:U0HUMAN01' }]);

    await mention(p, t, 'thanks, and can I order a new one?', { threadTs: sent.threadTs });
    const after = await waitForThreadPosts(p, sent.threadTs, 3);
    expect(after[2]!.text).toBe('Echo: thanks, and can I order a new one?');
    // The model sees what the human said as part of the conversation.
    expect(JSON.stringify(p.openai.chatRequests().at(-1)!.messages)).toContain("I'll refund you today.");
  });

  it('hands over when the customer asks for a person', async () => {
    const sent = await mention(p, t, 'Can I talk to a real person please?');
    const [notice] = await waitForThreadPosts(p, sent.threadTs, 1);
    expect(notice!.text).toMatch(/asked a colleague/);
    const conv = await conversationOf(sent.threadTs);
    const h = await handoffOf(conv.id);
    expect(h.reason).toBe('the customer asked for a person');

    // Released through the API (the agent subgraph's releaseHandoff): the employee answers again.
    const db = appDb(2);
    try {
      const released = await releaseHandoff(db, tenantScope(t.tenantId), h.id, { kind: 'operator', id: randomUUID() });
      expect(released).toMatchObject({ id: h.id, status: 'released' });
    } finally {
      await db.close();
    }
    expect((await conversationOf(sent.threadTs)).state).toBe('active');
    await mention(p, t, 'never mind, what are your hours?', { threadTs: sent.threadTs });
    const posts = await waitForThreadPosts(p, sent.threadTs, 2);
    expect(posts[1]!.text).toBe('Echo: never mind, what are your hours?');
  });

  it('passes on only the words of a person who shares files in the handoff thread, and tells them so', async () => {
    const sent = await mention(p, t, 'I need a human to look at my order, please');
    await waitForThreadPosts(p, sent.threadTs, 1);
    const conv = await conversationOf(sent.threadTs);
    const post = await eventually(async () => {
      const h = await handoffOf(conv.id);
      expect(h?.human_thread?.ts).toBeTruthy();
      return h.human_thread as { ts: string };
    });
    const file = (id: string, name: string) => ({
      id,
      name,
      mimetype: 'application/pdf',
      size: 1000,
      url_private: `https://files.slack.com/files-pri/${t.teamId}-${id}/${name}`,
      mode: 'hosted',
    });
    const notesInThread = () => p.slack.posts().filter((x) => x.channel === HUMANS && x.thread_ts === post.ts && /passed on/.test(x.text ?? ''));

    // Files alone: nothing reaches the customer; the person learns why.
    await threadMessage(p, t, '', { channel: HUMANS, threadTs: post.ts, files: [file('F0LABEL01', 'label.pdf')] });
    await eventually(() => expect(notesInThread()).toHaveLength(1));
    expect(notesInThread()[0]!.text).toMatch(/^Nothing was sent to the customer\. The file was not passed on/);

    // Words with files: the words go to the customer, and the person is told the files did not.
    await threadMessage(p, t, 'Your return label is on its way by email.', {
      channel: HUMANS,
      threadTs: post.ts,
      files: [file('F0LABEL02', 'label.pdf'), file('F0INVOICE', 'invoice.pdf')],
    });
    const [, relayed] = await waitForThreadPosts(p, sent.threadTs, 2);
    expect(relayed!.text).toBe('Your return label is on its way by email.');
    await eventually(() => expect(notesInThread()).toHaveLength(2));
    expect(notesInThread()[1]!.text).toMatch(/^Only your text reached the customer\. The 2 files were not passed on/);
    await barrier();
    expect(postsIn(p, sent.threadTs)).toHaveLength(2);
    const stored = await simpleQuery(owner, `SELECT text FROM messages WHERE conversation_id = $1 AND author = 'human'`, [conv.id]);
    expect(stored.rows).toEqual([{ text: 'Your return label is on its way by email.' }]);
  });

  it('lets the model hand over with the handoff tool', async () => {
    p.openai.respond((req: ChatRequest) => {
      const tool = req.messages.find((m) => m.role === 'tool');
      if (!tool) {
        expect(JSON.stringify(req.tools)).toContain('handoff_to_human');
        return {
          toolCalls: [{ id: 'call_handoff_1', name: 'handoff_to_human', arguments: { reason: 'wedding cake order needs the baker', summary: 'Three tiers, 120 guests, June 5.' } }],
        };
      }
      return { content: 'I have passed this to our baker, who will reply here.' };
    });
    try {
      const sent = await mention(p, t, 'I need a wedding cake for 120 guests on June 5');
      const [answer] = await waitForThreadPosts(p, sent.threadTs, 1);
      expect(answer!.text).toBe('I have passed this to our baker, who will reply here.');
      const conv = await conversationOf(sent.threadTs);
      expect(conv.state).toBe('paused');
      const h = await handoffOf(conv.id);
      expect(h).toMatchObject({ status: 'open', reason: 'wedding cake order needs the baker', summary: 'Three tiers, 120 guests, June 5.' });
      await eventually(() => expect(humanPosts().some((x) => x.text?.includes('Three tiers, 120 guests'))).toBe(true));
      const audit = await simpleQuery(owner, `SELECT data FROM audit_events WHERE tenant_id = $1 AND action = 'handoff.created' AND subject_id = $2`, [t.tenantId, h.id]);
      expect(audit.rows[0].data.trigger).toBe('model_decides');

      // The conversation's window is in Redis from this turn; after the people answered and
      // released it, the employee's next prompt includes what they wrote.
      p.openai.respond();
      const humanPost = humanPosts().find((x) => x.text?.includes('Three tiers, 120 guests'))!;
      await eventually(async () => expect((await handoffOf(conv.id)).human_thread.ts).toBe(humanPost.ts));
      await threadMessage(p, t, 'Baker here: we can do three tiers in lemon.', { channel: HUMANS, threadTs: humanPost.ts });
      await waitForThreadPosts(p, sent.threadTs, 2);
      await threadMessage(p, t, '!release', { channel: HUMANS, threadTs: humanPost.ts });
      await eventually(async () => expect((await conversationOf(sent.threadTs)).state).toBe('active'));
      await mention(p, t, 'lemon sounds great', { threadTs: sent.threadTs });
      const after = await waitForThreadPosts(p, sent.threadTs, 3);
      expect(after[2]!.text).toBe('Echo: lemon sounds great');
      const prompt = JSON.stringify(p.openai.chatRequests().at(-1)!.messages);
      expect(prompt).toContain('we can do three tiers in lemon');
      expect(prompt).toContain('I need a wedding cake for 120 guests');
    } finally {
      p.openai.respond();
    }
  });

  it('hands over when tools keep failing', async () => {
    p.openai.respond((req: ChatRequest) => {
      const failures = req.messages.filter((m) => m.role === 'tool').length;
      if (failures < 2) return { toolCalls: [{ id: `call_bad_${failures}`, name: 'current_time', arguments: { timezone: 'Nowhere/Atlantis' } }] };
      return { content: 'I could not look that up.' };
    });
    try {
      const sent = await mention(p, t, 'what time is it in Atlantis?');
      const [notice] = await waitForThreadPosts(p, sent.threadTs, 1);
      expect(notice!.text).toMatch(/asked a colleague to take over/);
      const conv = await conversationOf(sent.threadTs);
      expect(conv.state).toBe('paused');
      const h = await handoffOf(conv.id);
      expect(h.reason).toBe('2 tool calls failed in a row (threshold 2)');
      const audits = await simpleQuery(
        owner,
        `SELECT action, data FROM audit_events WHERE tenant_id = $1
            AND (subject_id = $2 OR subject_id IN (SELECT id::text FROM messages WHERE conversation_id = $3 AND direction = 'inbound'))
          ORDER BY seq`,
        [t.tenantId, h.id, conv.id],
      );
      expect(audits.rows.map((r) => r.action)).toEqual(['handoff.created', 'llm.call', 'llm.call', 'llm.call', 'tool.call', 'tool.call']);
      expect(audits.rows.filter((r) => r.action === 'tool.call').map((r) => r.data.outcome)).toEqual(['error', 'error']);
      expect(audits.rows[0].data.trigger).toBe('tool_failures');
    } finally {
      p.openai.respond();
    }
  });

  it('hands over politely when no model can be reached', async () => {
    p.openai.respond(() => ({ status: 503, error: { message: 'overloaded', type: 'server_error' } }));
    try {
      const sent = await mention(p, t, 'what flavours do you have?');
      const [notice] = await waitForThreadPosts(p, sent.threadTs, 1);
      expect(notice!.text).toMatch(/asked a colleague to take over/);
      const conv = await conversationOf(sent.threadTs);
      const h = await handoffOf(conv.id);
      expect(h.reason).toBe('the employee could not reach any language model');
      const audit = await simpleQuery(owner, `SELECT data FROM audit_events WHERE tenant_id = $1 AND action = 'handoff.created' AND subject_id = $2`, [t.tenantId, h.id]);
      expect(audit.rows[0].data.trigger).toBe('model_unavailable');
    } finally {
      p.openai.respond();
    }
  });
});

describe('runner: handoff for a WhatsApp customer', () => {
  let p: Platform;
  let wa: WhatsAppTenant;
  let slack: SlackTenant;
  let owner: pg.Client;

  beforeAll(async () => {
    p = await startPlatform(databaseUrl(), { whatsapp: { pairIntervalMs: 300, sendingGraceMs: 2_000 } });
    wa = await seedWhatsAppTenant(databaseUrl(), p.masterKey);
    owner = new OwnerClient({ connectionString: databaseUrl() });
    await owner.connect();
    // The same tenant's Slack workspace, where its people work.
    const connectionId = randomUUID();
    const teamId = `T${randomBytes(5).toString('hex').toUpperCase()}`;
    const botToken = `xoxb-${randomBytes(8).toString('hex')}`;
    await owner.query(
      `INSERT INTO channel_connections (id, tenant_id, kind, external_id, app_id, agent_id, bot_user_id, bot_token_enc, bot_token_hint, updated_at)
       VALUES ($1, $2, 'slack', $3, '', $4, 'U0BOTUSER', $5, $6, now())`,
      [connectionId, wa.tenantId, teamId, wa.agentId, encryptSecret(keyringFrom(p.masterKey), botToken, secretContext('channel_connections', 'bot_token', connectionId)), secretHint(botToken)],
    );
    slack = { tenantId: wa.tenantId, agentId: wa.agentId, connectionId, teamId, botToken };
    await owner.query(
      `INSERT INTO escalation_rules (id, tenant_id, agent_id, trigger, pattern, target) VALUES ($1, $2, $3, 'keyword', 'refund', $4)`,
      [randomUUID(), wa.tenantId, wa.agentId, JSON.stringify({ kind: 'slack', connectionId, channel: HUMANS })],
    );
  });
  afterAll(async () => {
    await owner?.end();
    await p?.close();
  });

  it('posts the handoff to Slack and relays the human Slack reply to the customer on WhatsApp', async () => {
    const customer = '16505550199';
    const res = await postWhatsApp(
      p.bridge.url,
      waWebhook(wa.phoneNumberId, { contacts: [waContact(customer)], messages: [waText(customer, 'I would like a refund for order #4411')] }),
      p.whatsappAppSecret!,
    );
    expect(res.status).toBe(200);
    const [notice] = await p.whatsapp!.waitForSends(1, 15_000);
    expect(notice!.text).toMatch(/asked a colleague to take over/);

    const post = await eventually(() => {
      const found = p.slack.posts().find((x) => x.channel === HUMANS && !x.thread_ts);
      expect(found).toBeDefined();
      return found!;
    }, 15_000);
    expect(post.text).toContain('I would like a refund for order #4411');
    expect(post.text).toContain('on whatsapp');
    const slackAuth = p.slack.requests.find((r) => r.path === '/api/chat.postMessage')!;
    expect(slackAuth.headers.authorization).toBe(`Bearer ${slack.botToken}`);

    await eventually(async () => {
      const { rows } = await simpleQuery(owner, `SELECT human_thread FROM handoffs WHERE tenant_id = $1`, [wa.tenantId]);
      expect(rows[0].human_thread.ts).toBe(post.ts);
    });
    await threadMessage(p, slack, 'Hello, this is Sam. Your refund is on its way.', { channel: HUMANS, threadTs: post.ts });
    const sends = await p.whatsapp!.waitForSends(2, 15_000);
    expect(sends[1]!.text).toBe('Hello, this is Sam. Your refund is on its way.');
    expect(sends[1]!.to).toBe(customer);
    await eventually(async () => {
      const { rows } = await simpleQuery(owner, `SELECT author, delivery_state FROM messages WHERE tenant_id = $1 AND author = 'human'`, [wa.tenantId]);
      expect(rows).toEqual([{ author: 'human', delivery_state: 'sent' }]);
    });
  });
});
