import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Db, TenantScope } from '@konstruct/db';
import { appDb, createTenant, ownerClient } from '../../../test/support/db.ts';
import { ConversationWindow, type WindowConfig } from '../../src/memory/window.ts';
import { estimateEntriesTokens } from '../../src/memory/tokens.ts';
import type { WindowEntry, WindowTurn } from '../../src/memory/types.ts';
import type { ChatMessage } from '../../src/llm/types.ts';
import { deleteKeys, insertMessages, logger, seedConversation, testRedis } from './support.ts';

/**
 * The sliding window against real Redis and the embedded Postgres: bounds, whole-turn
 * trimming that keeps tool calls with their results, atomic upserts, the per-tenant key
 * namespace, and the rebuild from Postgres when Redis has lost a window.
 */

let owner: pg.Client;
let db: Db;
let redis: Redis;
let prefix: string;
let A: TenantScope;
let B: TenantScope;

const T0 = Date.UTC(2026, 10, 20, 9, 0, 0);
const at = (s: number) => new Date(T0 + s * 1000);

const windowWith = (cfg: Partial<WindowConfig> = {}) =>
  new ConversationWindow(redis, db, { keyPrefix: prefix, maxTurns: 20, maxTokens: 100_000, ttlSeconds: 600, ...cfg }, logger);

const userTurn = (id: string, text: string, reply = `Re: ${text}`): WindowTurn => ({
  id,
  entries: [
    { role: 'user', content: text },
    { role: 'assistant', content: reply },
  ],
});

/** A turn with two tool calls answered by two results, then the reply. */
const toolTurn = (id: string): WindowTurn => ({
  id,
  entries: [
    { role: 'user', content: `Where are my orders? (${id})` },
    {
      role: 'assistant',
      content: '',
      toolCalls: [
        { id: `call_${id}_1`, name: 'order_status', arguments: { order: 'A1' } },
        { id: `call_${id}_2`, name: 'order_status', arguments: { order: 'B2' } },
      ],
    },
    { role: 'tool', toolCallId: `call_${id}_1`, name: 'order_status', content: '{"status":"shipped"}' },
    { role: 'tool', toolCallId: `call_${id}_2`, name: 'order_status', content: '{"status":"packing"}' },
    { role: 'assistant', content: 'A1 has shipped; B2 is being packed.' },
  ],
});

/** Every tool call in the entries has its result right after it, and every result its call. */
function pairsIntact(entries: WindowEntry[]): boolean {
  const open = new Set<string>();
  for (const e of entries) {
    if (e.role === 'tool') {
      if (!open.delete(e.toolCallId)) return false;
    } else {
      if (open.size) return false;
      if (e.role === 'assistant') for (const c of e.toolCalls ?? []) open.add(c.id);
    }
  }
  return open.size === 0;
}

beforeAll(async () => {
  owner = await ownerClient();
  db = appDb(4);
  ({ redis, prefix } = testRedis());
  A = await createTenant(owner, 'Window A');
  B = await createTenant(owner, 'Window B');
});

afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
  await db?.close();
  await owner?.end();
});

describe('bounds', () => {
  it('keeps the newest maxTurns turns, whole, oldest dropped first', async () => {
    const w = windowWith({ maxTurns: 3 });
    const conv = randomUUID();
    const ids = Array.from({ length: 6 }, (_, i) => `m${i}`);
    for (const id of ids) expect(await w.append(A, conv, userTurn(id, `question ${id}`))).toMatchObject({ ok: true });
    const win = await w.load(A, conv);
    expect(win.source).toBe('redis');
    expect(win.turns.map((t) => t.id)).toEqual(['m3', 'm4', 'm5']);
    expect(win.entries).toHaveLength(6);
    expect(win.entries[0]).toEqual({ role: 'user', content: 'question m3' });
  });

  it('keeps the estimated tokens within maxTokens by dropping whole turns; the newest turn stays even when alone it is over', async () => {
    const turn = (id: string, words: number) => userTurn(id, `${'word '.repeat(words)}${id}`);
    const sizes = [10, 10, 10, 10].map((n, i) => estimateEntriesTokens(turn(`t${i}`, n * 8).entries));
    const max = sizes[0]! * 2 + 1;
    const w = windowWith({ maxTokens: max });
    const conv = randomUUID();
    for (let i = 0; i < 4; i++) {
      const r = await w.append(A, conv, turn(`t${i}`, 80));
      expect(r).toMatchObject({ ok: true });
      if (r.ok) expect(r.tokens).toBeLessThanOrEqual(max);
    }
    const win = await w.load(A, conv);
    expect(win.turns.map((t) => t.id)).toEqual(['t2', 't3']);
    expect(win.tokens).toBe(sizes[2]! + sizes[3]!);

    const huge = turn('big', 5_000);
    const r = await w.append(A, conv, huge);
    expect(r).toMatchObject({ ok: true, turns: 1 });
    expect((await w.load(A, conv)).turns.map((t) => t.id)).toEqual(['big']);
  });

  it('never separates a tool call from its results when trimming, and restarts at a user message', async () => {
    const w = windowWith({ maxTurns: 2 });
    const conv = randomUUID();
    await w.append(A, conv, toolTurn('a'));
    await w.append(A, conv, userTurn('b', 'thanks'));
    // A human's message between turns: not a turn of its own, so it goes with what precedes it.
    await w.append(A, conv, { id: 'h1', entries: [{ role: 'assistant', content: 'Hi, this is Sam from support.' }] });
    await w.append(A, conv, toolTurn('c'));
    let win = await w.load(A, conv);
    expect(win.turns.map((t) => t.id)).toEqual(['b', 'h1', 'c']);
    expect(pairsIntact(win.entries)).toBe(true);

    // One more turn pushes out 'b'; the window must not start at the human's message.
    await w.append(A, conv, toolTurn('d'));
    win = await w.load(A, conv);
    expect(win.turns.map((t) => t.id)).toEqual(['c', 'd']);
    expect(win.entries[0]!.role).toBe('user');
    expect(pairsIntact(win.entries)).toBe(true);
    expect(win.entries.filter((e) => e.role === 'tool')).toHaveLength(4);
  });

  it('refuses a turn whose tool calls and results do not pair up, and stores nothing of it', async () => {
    const w = windowWith();
    const conv = randomUUID();
    await w.append(A, conv, userTurn('ok', 'hello there friend'));
    const orphanResult: WindowTurn = { id: 'x1', entries: [{ role: 'user', content: 'q' }, { role: 'tool', toolCallId: 'call_1', name: 't', content: '{}' }] };
    const unanswered: WindowTurn = {
      id: 'x2',
      entries: [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: '', toolCalls: [{ id: 'call_2', name: 't', arguments: {} }] },
        { role: 'assistant', content: 'done' },
      ],
    };
    expect(await w.append(A, conv, orphanResult)).toEqual({ ok: false, error: expect.stringMatching(/answers no open tool call/) });
    expect(await w.append(A, conv, unanswered)).toEqual({ ok: false, error: expect.stringMatching(/call_2 have no result/) });
    expect(await w.append(A, conv, { id: 'bad\tid', entries: [{ role: 'user', content: 'q' }] })).toMatchObject({ ok: false });
    expect((await w.load(A, conv)).turns.map((t) => t.id)).toEqual(['ok']);
  });

  it('replaces a turn appended again with the same id (a redelivered message) instead of adding it twice', async () => {
    const w = windowWith();
    const conv = randomUUID();
    await w.append(A, conv, userTurn('m1', 'first'));
    await w.append(A, conv, userTurn('m2', 'second', 'draft answer'));
    await w.append(A, conv, userTurn('m2', 'second', 'final answer'));
    const win = await w.load(A, conv);
    expect(win.turns.map((t) => t.id)).toEqual(['m1', 'm2']);
    expect(win.entries.at(-1)).toEqual({ role: 'assistant', content: 'final answer' });
  });

  it('stays bounded and consistent under concurrent appends (one script per append)', async () => {
    const w = windowWith({ maxTurns: 5 });
    const conv = randomUUID();
    await w.append(A, conv, userTurn('seed', 'start'));
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => w.append(A, conv, toolTurn(`p${i}`))));
    expect(results.every((r) => r.ok)).toBe(true);
    const win = await w.load(A, conv);
    expect(win.turns).toHaveLength(5);
    expect(new Set(win.turns.map((t) => t.id)).size).toBe(5);
    expect(pairsIntact(win.entries)).toBe(true);
    expect(await redis.llen(w.key(A, conv))).toBe(5);
  });

  it('sets the expiry on every write', async () => {
    const w = windowWith({ ttlSeconds: 120 });
    const conv = randomUUID();
    await w.append(A, conv, userTurn('m1', 'hello world again'));
    const ttl = await redis.pttl(w.key(A, conv));
    expect(ttl).toBeGreaterThan(100_000);
    expect(ttl).toBeLessThanOrEqual(120_000);
  });
});

describe('tenant key namespace', () => {
  it('keys windows by tenant; another tenant naming the same conversation sees nothing', async () => {
    const w = windowWith();
    const conv = randomUUID();
    expect(w.key(A, conv)).toBe(`${prefix}t:${A.tenantId}:win:${conv}`);
    await w.append(A, conv, userTurn('m1', 'my secret plan'));
    const fromB = await w.load(B, conv);
    expect(fromB.turns).toEqual([]);
    expect(await redis.exists(w.key(B, conv))).toBe(0);
  });
});

describe('rebuild from Postgres', () => {
  async function conversationWithHistory() {
    const c = await seedConversation(owner, A.tenantId);
    const [q1, , q2, , , q3] = await insertMessages(owner, A.tenantId, c.conversationId, [
      { author: 'end_user', text: 'Do you have the teal lamp?', at: at(0) },
      { author: 'agent', text: 'Yes, in stock.', at: at(1) },
      { author: 'end_user', text: 'Order it for me please.', at: at(2) },
      { author: 'human', text: 'Sam here, I placed the order.', at: at(3) },
      { author: 'agent', text: 'Done: order A1.', at: at(4) },
      { author: 'end_user', text: 'Where is order A1?', at: at(5) },
    ]);
    // The reply to q2 was recorded last: it still belongs with q2.
    await insertMessages(owner, A.tenantId, c.conversationId, [{ author: 'agent', text: 'Your order is confirmed.', inReplyToId: q2, at: at(6) }]);
    return { ...c, q1: q1!, q2: q2!, q3: q3! };
  }

  it('rebuilds a missing window from the conversation\'s messages, in the tenant\'s scope, and stores it', async () => {
    const w = windowWith();
    const c = await conversationWithHistory();
    const win = await w.load(A, c.conversationId, { excludeTurnId: c.q3 });
    expect(win.source).toBe('postgres');
    expect(win.turns.map((t) => t.id)).toEqual([c.q1, c.q2]);
    const asChat: ChatMessage[] = win.entries;
    expect(asChat).toEqual([
      { role: 'user', content: 'Do you have the teal lamp?' },
      { role: 'assistant', content: 'Yes, in stock.' },
      { role: 'user', content: 'Order it for me please.' },
      { role: 'assistant', content: 'Sam here, I placed the order.' },
      { role: 'assistant', content: 'Done: order A1.' },
      { role: 'assistant', content: 'Your order is confirmed.' },
    ]);
    // Stored: the next load comes from Redis, with the current turn too.
    const again = await w.load(A, c.conversationId);
    expect(again.source).toBe('redis');
    expect(again.turns.map((t) => t.id)).toEqual([c.q1, c.q2, c.q3]);

    // Another tenant cannot rebuild it: RLS hides the messages.
    const fromB = await w.load(B, c.conversationId);
    expect(fromB).toMatchObject({ source: 'postgres', turns: [] });
  });

  it('after the key is flushed, an append rebuilds from Postgres and stores the turn over its rebuilt copy', async () => {
    const w = windowWith();
    const c = await conversationWithHistory();
    await w.load(A, c.conversationId);
    await redis.del(w.key(A, c.conversationId));

    const current = toolTurn(c.q3);
    const r = await w.append(A, c.conversationId, current);
    expect(r).toMatchObject({ ok: true, rebuilt: true, turns: 3 });
    const win = await w.load(A, c.conversationId);
    expect(win.source).toBe('redis');
    expect(win.turns.map((t) => t.id)).toEqual([c.q1, c.q2, c.q3]);
    expect(win.turns[2]).toEqual(current);
    expect(pairsIntact(win.entries)).toBe(true);
  });

  it('the first turn of a new conversation starts its window without reading Postgres', async () => {
    const w = windowWith();
    const c = await seedConversation(owner, A.tenantId);
    const [q1] = await insertMessages(owner, A.tenantId, c.conversationId, [{ author: 'end_user', text: 'Hello there', at: at(0) }]);
    const spy = vi.spyOn(db, 'withTenant');
    try {
      const r = await w.append(A, c.conversationId, userTurn(q1!, 'Hello there'), { newConversation: true });
      expect(r).toMatchObject({ ok: true, rebuilt: false, turns: 1 });
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
    const win = await w.load(A, c.conversationId);
    expect(win.source).toBe('redis');
    expect(win.entries).toEqual([
      { role: 'user', content: 'Hello there' },
      { role: 'assistant', content: 'Re: Hello there' },
    ]);
  });

  it('reads only as many messages as maxTurns needs and starts the rebuilt window at a user message', async () => {
    const w = windowWith({ maxTurns: 1 });
    const c = await seedConversation(owner, A.tenantId);
    const msgs = Array.from({ length: 12 }, (_, i) => ({ author: (i % 2 ? 'agent' : 'end_user') as 'agent' | 'end_user', text: `message ${i}`, at: at(i) }));
    const ids = await insertMessages(owner, A.tenantId, c.conversationId, msgs);
    const win = await w.load(A, c.conversationId);
    expect(win.turns.map((t) => t.id)).toEqual([ids[10]]);
    expect(win.entries).toEqual([
      { role: 'user', content: 'message 10' },
      { role: 'assistant', content: 'message 11' },
    ]);
  });

  it('falls back to Postgres when Redis is unreachable', async () => {
    const dead = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    dead.on('error', () => {});
    try {
      const w = new ConversationWindow(dead, db, { keyPrefix: prefix, maxTurns: 20, maxTokens: 100_000, ttlSeconds: 600 }, logger);
      const c = await conversationWithHistory();
      const win = await w.load(A, c.conversationId);
      expect(win.source).toBe('postgres');
      expect(win.turns.map((t) => t.id)).toEqual([c.q1, c.q2, c.q3]);
      expect(await w.append(A, c.conversationId, userTurn(c.q3, 'x'))).toMatchObject({ ok: false });
    } finally {
      dead.disconnect();
    }
  });
});
