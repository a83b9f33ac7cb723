import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localEmbedder, type KonstructMessageV1, type Logger } from '@konstruct/core';
import { Prisma, type Db, type TenantScope } from '@konstruct/db';
import { appDb, createTenant, ownerClient } from '../../test/support/db.ts';
import { openTurn } from '../src/loop/open-turn.ts';
import { saveReply } from '../src/loop/reply-row.ts';
import { LongTermMemory } from '../src/memory/long-term.ts';
import { createAgent, createSlackConnection } from './memory/support.ts';

/**
 * The turn's two writes around the model call — opening (conversation, inbound message, rules,
 * budgets, history, recall) and the reply with its audit events and usage — each one
 * transaction sent as one message, against the real database.
 */

let owner: pg.Client;
let db: Db;
let scope: TenantScope;
let agentId: string;
let connectionId: string;

function capture(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { log: pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) }), lines };
}
const quiet = pino({ level: 'silent' });

beforeAll(async () => {
  owner = await ownerClient();
  db = appDb(3);
  scope = await createTenant(owner, 'Turn writes');
  agentId = await createAgent(owner, scope.tenantId);
  connectionId = await createSlackConnection(owner, scope.tenantId, agentId);
});

afterAll(async () => {
  await db?.close();
  await owner?.end();
});

function message(ref: string, text: string, over: Partial<KonstructMessageV1> = {}): KonstructMessageV1 {
  return {
    v: 1,
    id: randomUUID(),
    tenantId: scope.tenantId,
    channel: { kind: 'slack', connectionId, address: 'C0TEST' },
    conversation: { ref },
    thread: { replyTo: '1.0', inThread: false },
    sender: { externalId: 'U0CUSTOMER' },
    externalId: `Ev${randomBytes(6).toString('hex')}`,
    text,
    attachments: [{ kind: 'file', name: "o'neil.pdf" }],
    receivedAt: new Date().toISOString(),
    ...over,
  } as KonstructMessageV1;
}

const open = (msg: KonstructMessageV1, over: Partial<Parameters<typeof openTurn>[2]> = {}) =>
  openTurn(db, scope, { msg, agentId, rules: true, historyMessages: 0, recall: null, ...over }, quiet);

describe('opening a turn', () => {
  it('creates the conversation and records the message once; a redelivery finds both and the reply', async () => {
    const ref = `slack:T:C:${randomUUID()}`;
    const first = message(ref, "Hi, it's me \\ again");
    const opened = await open(first);
    expect(opened.newConversation).toBe(true);
    expect(opened.inbound).toMatchObject({ id: first.id, fresh: true });
    expect(opened.existing).toBeNull();
    expect(opened.conversation.state).toBe('active');

    const { rows: [conv] } = await owner.query('SELECT * FROM conversations WHERE id = $1', [opened.conversation.id]);
    expect(conv).toMatchObject({ tenant_id: scope.tenantId, agent_id: agentId, connection_id: connectionId, external_ref: ref, end_user_external_id: 'U0CUSTOMER' });
    const { rows: [stored] } = await owner.query('SELECT * FROM messages WHERE id = $1', [first.id]);
    expect(stored).toMatchObject({ text: "Hi, it's me \\ again", author: 'end_user', direction: 'inbound', external_id: first.externalId, delivery_state: 'received' });
    expect(stored.attachments).toEqual(first.attachments);

    // The same vendor event again, under a new envelope id: nothing new is written.
    const again = await open({ ...first, id: randomUUID() });
    expect(again.newConversation).toBe(false);
    expect(again.conversation.id).toBe(opened.conversation.id);
    expect(again.inbound).toMatchObject({ id: first.id, fresh: false });
    expect(again.existing).toBeNull();
    const { rows: [{ n }] } = await owner.query('SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1', [opened.conversation.id]);
    expect(n).toBe(1);

    const reply = await saveReply(
      db,
      scope,
      { tenantId: scope.tenantId, conversationId: opened.conversation.id, inReplyToId: first.id, channelKind: 'slack', author: 'agent', text: 'Hello!' },
      { audits: [], agentId },
      quiet,
    );
    const third = await open({ ...first, id: randomUUID() });
    expect(third.existing).toEqual({ id: reply.id, text: 'Hello!', deliveryState: 'pending', conversationId: opened.conversation.id });
  });

  it('a message carrying a NUL character is recorded (as U+FFFD), not refused', async () => {
    const msg = message(`slack:T:C:${randomUUID()}`, 'before\u0000after', { attachments: [{ kind: 'file', name: 'a\u0000.txt' }] });
    const opened = await open(msg);
    expect(opened.inbound.fresh).toBe(true);
    const { rows: [stored] } = await owner.query('SELECT text, attachments FROM messages WHERE id = $1', [msg.id]);
    expect(stored).toEqual({ text: 'before\uFFFDafter', attachments: [{ kind: 'file', name: 'a\uFFFD.txt' }] });
  });

  it('a later message moves the conversation on and reads history, oldest first, without itself', async () => {
    const ref = `slack:T:C:${randomUUID()}`;
    const m1 = message(ref, 'one', { receivedAt: new Date(Date.now() - 60_000).toISOString() });
    const o1 = await open(m1);
    await saveReply(
      db,
      scope,
      { tenantId: scope.tenantId, conversationId: o1.conversation.id, inReplyToId: m1.id, channelKind: 'slack', author: 'agent', text: 'two' },
      { audits: [], agentId },
      quiet,
    );
    const m3 = message(ref, 'three', { receivedAt: new Date(Date.now() + 1000).toISOString() });
    const o3 = await open(m3, { historyMessages: 10 });
    expect(o3.newConversation).toBe(false);
    expect(o3.history).toEqual([{ author: 'end_user', text: 'one' }, { author: 'agent', text: 'two' }]);
    const { rows: [conv] } = await owner.query('SELECT last_inbound_at FROM conversations WHERE id = $1', [o1.conversation.id]);
    expect(new Date(conv.last_inbound_at).toISOString()).toBe(m3.receivedAt);
  });

  it('loads the enabled rules and sees budgets of the tenant or the agent', async () => {
    const other = await createAgent(owner, scope.tenantId, 'Other');
    await owner.query(
      `INSERT INTO escalation_rules (id, tenant_id, agent_id, trigger, pattern, target, enabled) VALUES
         ($1, $3, $4, 'keyword', 'refund', '{"kind":"slack"}', true),
         ($2, $3, $4, 'keyword', 'lawyer', '{}', false)`,
      [randomUUID(), randomUUID(), scope.tenantId, other],
    );
    const msg = message(`slack:T:C:${randomUUID()}`, 'hello');
    const before = await open(msg, { agentId: other });
    expect(before.rules).toMatchObject([{ trigger: 'keyword', pattern: 'refund', target: { kind: 'slack' } }]);
    expect(before.budgets).toBe(false);
    // A budget for another agent does not apply; one for this agent does.
    await owner.query(`INSERT INTO budgets (id, tenant_id, agent_id, period, unit, "limit") VALUES ($1, $2, $3, 'day', 'tokens', 1000)`, [randomUUID(), scope.tenantId, agentId]);
    expect((await open(message(`slack:T:C:${randomUUID()}`, 'x'), { agentId: other })).budgets).toBe(false);
    await owner.query(`INSERT INTO budgets (id, tenant_id, agent_id, period, unit, "limit") VALUES ($1, $2, $3, 'day', 'tokens', 1000)`, [randomUUID(), scope.tenantId, other]);
    expect((await open(message(`slack:T:C:${randomUUID()}`, 'y'), { agentId: other })).budgets).toBe(true);
  });

  it('runs the recall in the same transaction, and goes on without it when the recall fails', async () => {
    const memory = new LongTermMemory({ db, embedder: localEmbedder, logger: quiet });
    const stored = await memory.store(scope, { agentId, endUserExternalId: 'U0CUSTOMER', text: 'My dog is called Biscuit' });
    expect(stored.ok).toBe(true);
    const msg = message(`slack:T:C:${randomUUID()}`, 'what is my dog called?');
    const recall = await memory.prepareRecall(scope, { agentId, endUserExternalId: 'U0CUSTOMER', query: msg.text });
    expect(recall.kind).toBe('batch');
    const opened = await open(msg, { recall });
    expect(opened.recalled?.ok && opened.recalled.value.map((m) => m.text)).toEqual(['My dog is called Biscuit']);

    const { log, lines } = capture();
    const broken = message(`slack:T:C:${randomUUID()}`, 'and again?');
    const failing = await openTurn(
      db,
      scope,
      { msg: broken, agentId, rules: false, historyMessages: 0, recall: { kind: 'batch', statement: Prisma.sql`SELECT 1 / 0`, finish: () => [] } },
      log,
    );
    expect(failing.recalled).toEqual({ ok: false, error: expect.stringMatching(/division by zero/) });
    expect(failing.inbound).toMatchObject({ id: broken.id, fresh: true });
    expect(lines.some((l) => String(l.msg).includes('without it'))).toBe(true);
  });
});

describe('saving the reply', () => {
  async function inbound() {
    const msg = message(`slack:T:C:${randomUUID()}`, 'question');
    const opened = await open(msg);
    return { msg, conversationId: opened.conversation.id };
  }
  const audits = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ actorKind: 'agent' as const, actorId: agentId, action: `test.step${i}`, subjectType: 'message', data: { i, quote: "it's" } }));
  const usage = [
    { provider: 'openai' as const, model: 'gpt-4o-mini', usage: { inputTokens: 12, outputTokens: 5, cacheReadTokens: 2, cacheWriteTokens: 0 }, latencyMs: 41.6, costUsdMicros: 1234n },
  ];

  it('writes the reply, its audit events in order on an intact chain, and its usage; once', async () => {
    const { msg, conversationId } = await inbound();
    const reply = { tenantId: scope.tenantId, conversationId, inReplyToId: msg.id, channelKind: 'slack' as const, author: 'agent' as const, text: 'answer' };
    const saved = await saveReply(db, scope, reply, { audits: audits(3), usage, agentId }, quiet);
    expect(saved).toMatchObject({ text: 'answer', deliveryState: 'pending', fresh: true });

    const { rows: events } = await owner.query(`SELECT action, data FROM audit_events WHERE tenant_id = $1 AND action LIKE 'test.step%' AND data->>'quote' = 'it''s' ORDER BY seq DESC LIMIT 3`, [scope.tenantId]);
    expect(events.reverse().map((e) => e.action)).toEqual(['test.step0', 'test.step1', 'test.step2']);
    const { rows: broken } = await owner.query('SELECT * FROM konstruct_audit_verify($1)', [scope.tenantId]);
    expect(broken).toEqual([]);
    const { rows: used } = await owner.query('SELECT * FROM usage_records WHERE conversation_id = $1', [conversationId]);
    expect(used).toMatchObject([{ provider: 'openai', model: 'gpt-4o-mini', input_tokens: 12, output_tokens: 5, cache_read_tokens: 2, cost_usd_micros: '1234', latency_ms: 42, agent_id: agentId }]);

    // A concurrent redelivery's reply wins; nothing else is written.
    const count = async () => (await owner.query('SELECT count(*)::int AS n FROM audit_events WHERE tenant_id = $1', [scope.tenantId])).rows[0].n;
    const before = await count();
    const second = await saveReply(db, scope, { ...reply, text: 'another answer' }, { audits: audits(2), usage, agentId }, quiet);
    expect(second).toMatchObject({ id: saved.id, text: 'answer', fresh: false });
    expect(await count()).toBe(before);
    expect((await owner.query('SELECT count(*)::int AS n FROM usage_records WHERE conversation_id = $1', [conversationId])).rows[0].n).toBe(1);
  });

  it('stores what Postgres would refuse (a NUL character) in a form it accepts: nothing is lost', async () => {
    const { msg, conversationId } = await inbound();
    const odd = { actorKind: 'agent' as const, actorId: agentId, action: 'test.nul', subjectId: msg.id, data: { text: 'nul \u0000 here', big: 12n, ['k\u0000']: [1, undefined] } };
    await saveReply(
      db,
      scope,
      { tenantId: scope.tenantId, conversationId, inReplyToId: msg.id, channelKind: 'slack', author: 'agent', text: 'answered' },
      { audits: [odd], agentId },
      quiet,
    );
    const { rows } = await owner.query(`SELECT data FROM audit_events WHERE tenant_id = $1 AND action = 'test.nul' AND subject_id = $2`, [scope.tenantId, msg.id]);
    expect(rows).toEqual([{ data: { text: 'nul \uFFFD here', big: '12', 'k\uFFFD': [1, null] } }]);
  });

  it('an audit event the database refuses does not keep the reply back, and is logged in full', async () => {
    const { msg, conversationId } = await inbound();
    const { log, lines } = capture();
    // The audit table refusing one kind of event stands in for any failure of the audit insert.
    await owner.query(`
      CREATE OR REPLACE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.action = 'test.refused' THEN RAISE EXCEPTION 'audit refused for the test'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION test_refuse_audit();`);
    try {
      const refused = { actorKind: 'agent' as const, actorId: agentId, action: 'test.refused', data: { why: 'test' } };
      const saved = await saveReply(
        db,
        scope,
        { tenantId: scope.tenantId, conversationId, inReplyToId: msg.id, channelKind: 'slack', author: 'agent', text: 'still answered' },
        { audits: [refused], agentId },
        log,
      );
      expect(saved).toMatchObject({ text: 'still answered', fresh: true });
    } finally {
      await owner.query('DROP TRIGGER test_refuse_audit ON audit_events; DROP FUNCTION test_refuse_audit();');
    }
    expect((await owner.query('SELECT count(*)::int AS n FROM messages WHERE in_reply_to_id = $1', [msg.id])).rows[0].n).toBe(1);
    expect(lines.some((l) => l.msg === 'saving the reply with its audit events failed; retrying without them')).toBe(true);
    const logged = lines.find((l) => l.msg === 'audit event could not be recorded');
    expect(logged?.audit).toMatchObject({ tenantId: scope.tenantId, action: 'test.refused', data: { why: 'test' } });
  });
});
