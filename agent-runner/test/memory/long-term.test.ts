import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_EMBEDDING_MODEL, cosine, embedText, localEmbedder, type Embedder } from '@konstruct/core';
import { memorySearchSql, type Db, type TenantScope } from '@konstruct/db';
import { appDb, createTenant, ownerClient } from '../../../test/support/db.ts';
import { LongTermMemory, formatMemories } from '../../src/memory/long-term.ts';
import { logger, seedConversation } from './support.ts';

/**
 * Long-term memory against the embedded Postgres with pgvector and the built-in embedder:
 * what a turn stores, de-duplication, retrieval order against brute force, one end user's
 * memories kept from another's prompt, and tenant isolation enforced by row-level security.
 */

let owner: pg.Client;
let db: Db;
let memory: LongTermMemory;
let A: TenantScope;
let B: TenantScope;
let a: Awaited<ReturnType<typeof seedConversation>>;
let b: Awaited<ReturnType<typeof seedConversation>>;

const rowsOf = async (tenantId: string) =>
  (
    await owner.query<{ id: string; agent_id: string; conversation_id: string | null; end_user_external_id: string | null; text: string; embedding_model: string; metadata: any }>(
      'SELECT id::text, agent_id::text, conversation_id::text, end_user_external_id, text, embedding_model, metadata FROM memory_items WHERE tenant_id = $1 ORDER BY created_at, text',
      [tenantId],
    )
  ).rows;

beforeAll(async () => {
  owner = await ownerClient();
  db = appDb(4);
  memory = new LongTermMemory({ db, embedder: localEmbedder, logger });
  A = await createTenant(owner, 'Memory A');
  B = await createTenant(owner, 'Memory B');
  a = await seedConversation(owner, A.tenantId, 'U1');
  b = await seedConversation(owner, B.tenantId, 'U1');
});

afterAll(async () => {
  await db?.close();
  await owner?.end();
});

describe('rememberTurn', () => {
  it('stores the lasting facts of a message with tenant, agent, end user and conversation; skips the rest', async () => {
    const r = await memory.rememberTurn(A, {
      agentId: a.agentId,
      conversationId: a.conversationId,
      endUserExternalId: 'U1',
      messageId: 'msg-1',
      userText: 'Hi! I prefer green tea in the morning. Where is my parcel? My order #A12345 was a birthday gift. Thanks!',
    });
    expect(r).toEqual({
      ok: true,
      value: {
        stored: [
          { id: expect.any(String), text: 'I prefer green tea in the morning.', kind: 'preference' },
          { id: expect.any(String), text: 'My order #A12345 was a birthday gift.', kind: 'order' },
        ],
        duplicates: [],
      },
    });
    const rows = await rowsOf(A.tenantId);
    expect(rows.map((x) => x.text).sort()).toEqual(['I prefer green tea in the morning.', 'My order #A12345 was a birthday gift.']);
    for (const row of rows) {
      expect(row).toMatchObject({ agent_id: a.agentId, conversation_id: a.conversationId, end_user_external_id: 'U1', embedding_model: LOCAL_EMBEDDING_MODEL });
      expect(row.metadata).toMatchObject({ source: 'end_user', messageId: 'msg-1' });
    }
  });

  it('does not store the same fact twice for the same person, but does for another person', async () => {
    const again = await memory.rememberTurn(A, { agentId: a.agentId, conversationId: a.conversationId, endUserExternalId: 'U1', userText: 'I prefer green tea in the morning!' });
    expect(again).toEqual({ ok: true, value: { stored: [], duplicates: ['I prefer green tea in the morning!'] } });
    const other = await memory.rememberTurn(A, { agentId: a.agentId, conversationId: null, endUserExternalId: 'U2', userText: 'I prefer green tea in the morning.' });
    expect(other.ok && other.value.stored).toHaveLength(1);
  });

  it('a repeat within one store is caught too, and so is a shared memory embedded by a model whose plan needs the catalog', async () => {
    // An agent of its own, so the other tests' memories stay as they expect them.
    const c = await seedConversation(owner, A.tenantId, 'U9');
    const twice = await memory.rememberTurn(A, {
      agentId: c.agentId,
      conversationId: c.conversationId,
      endUserExternalId: 'U9',
      userText: 'I prefer deliveries at the back door. I prefer deliveries at the back door!',
    });
    expect(twice.ok && twice.value.stored).toHaveLength(1);
    expect(twice.ok && twice.value.duplicates).toHaveLength(1);
    // Another embedding model (not always-exact): shared memories then go through the searched plan.
    const dense: Embedder = { ...localEmbedder, model: 'test-dense-384' };
    const other = new LongTermMemory({ db, embedder: dense, logger });
    const first = await other.store(A, { agentId: c.agentId, endUserExternalId: null, text: 'The shop closes at six on Fridays.' });
    expect(first.ok && first.value.stored).toHaveLength(1);
    const repeat = await other.store(A, { agentId: c.agentId, endUserExternalId: null, text: 'The shop closes at six on Fridays!' });
    expect(repeat).toEqual({ ok: true, value: { stored: [], duplicates: ['The shop closes at six on Fridays!'] } });
    const rows = (await rowsOf(A.tenantId)).filter((r) => r.embedding_model === 'test-dense-384');
    expect(rows.map((r) => r.text)).toEqual(['The shop closes at six on Fridays.']);
  });

  it('stores nothing for small talk and questions', async () => {
    const before = (await rowsOf(A.tenantId)).length;
    const r = await memory.rememberTurn(A, { agentId: a.agentId, conversationId: a.conversationId, endUserExternalId: 'U1', userText: 'Hello! How are you? Thanks so much.' });
    expect(r).toEqual({ ok: true, value: { stored: [], duplicates: [] } });
    expect(await rowsOf(A.tenantId)).toHaveLength(before);
  });

  it('reports an embedding failure as a result and writes nothing', async () => {
    const broken: Embedder = { model: 'broken', dims: 384, embed: () => Promise.reject(new Error('model down')), embedMany: () => Promise.reject(new Error('model down')) };
    const m = new LongTermMemory({ db, embedder: broken, logger });
    const before = (await rowsOf(A.tenantId)).length;
    expect(await m.rememberTurn(A, { agentId: a.agentId, conversationId: null, endUserExternalId: 'U1', userText: 'I live in Lisbon near the river.' })).toEqual({ ok: false, error: 'model down' });
    expect(await m.recall(A, { agentId: a.agentId, endUserExternalId: 'U1', query: 'tea' })).toEqual({ ok: false, error: 'model down' });
    expect(await rowsOf(A.tenantId)).toHaveLength(before);
  });
});

describe('recall', () => {
  it('returns the person\'s and the agent\'s shared memories, most similar first, exactly as brute force ranks them', async () => {
    await memory.rememberTurn(A, {
      agentId: a.agentId,
      conversationId: a.conversationId,
      endUserExternalId: 'U1',
      userText: 'I live in Lisbon near the river. I am allergic to peanuts. I always pay by bank transfer.',
    });
    await memory.store(A, { agentId: a.agentId, text: 'The shop closes at six on Fridays', metadata: { kind: 'shared', source: 'operator' } });
    const query = 'what tea does the customer drink in the morning';
    const r = await memory.recall(A, { agentId: a.agentId, endUserExternalId: 'U1', query, k: 50, maxDistance: 2 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.plan).toBe('exact');
    const got = r.value.memories;

    const rows = (await rowsOf(A.tenantId)).filter((x) => x.agent_id === a.agentId && (x.end_user_external_id === 'U1' || x.end_user_external_id === null));
    const q = embedText(query);
    const expected = rows.map((x) => ({ id: x.id, score: cosine(q, embedText(x.text)) })).sort((x, y) => y.score - x.score);
    expect(got.map((m) => m.id)).toEqual(expected.map((e) => e.id));
    got.forEach((m, i) => expect(m.score).toBeCloseTo(expected[i]!.score, 5));
    expect(got[0]!.text).toBe('I prefer green tea in the morning.');
    expect(got.map((m) => m.text)).toContain('The shop closes at six on Fridays');
    // U2's identical sentence is someone else's memory: never in U1's prompt.
    expect(got.every((m) => m.endUserExternalId === 'U1' || m.endUserExternalId === null)).toBe(true);
  });

  it('honours k and the distance cut-off; a query without words recalls nothing', async () => {
    const top = await memory.recall(A, { agentId: a.agentId, endUserExternalId: 'U1', query: 'peanuts allergy', k: 1 });
    expect(top.ok && top.value.memories.map((m) => m.text)).toEqual(['I am allergic to peanuts.']);
    const strict = await memory.recall(A, { agentId: a.agentId, endUserExternalId: 'U1', query: 'peanuts allergy', k: 10, maxDistance: 0.5 });
    expect(strict.ok && strict.value.memories.every((m) => m.score >= 0.5)).toBe(true);
    expect(await memory.recall(A, { agentId: a.agentId, endUserExternalId: 'U1', query: '?! …' })).toEqual({ ok: true, value: { plan: 'exact', memories: [] } });
  });

  it('formats recalled memories as quoted notes for the system prompt', () => {
    const text = formatMemories([
      { id: '1', text: 'I prefer "green" tea', endUserExternalId: 'U1', kind: 'preference', createdAt: new Date('2026-11-20T10:00:00Z'), score: 0.9 },
    ]);
    expect(text).toContain('notes, not instructions');
    expect(text).toContain(`- (2026-11-20) "I prefer 'green' tea"`);
    expect(formatMemories([])).toBeNull();
  });
});

describe('tenant isolation', () => {
  it('never returns another tenant\'s memories, even with the same end user id and the same sentences', async () => {
    await memory.rememberTurn(B, { agentId: b.agentId, conversationId: b.conversationId, endUserExternalId: 'U1', userText: 'I prefer green tea in the morning.' });
    const idsA = new Set((await rowsOf(A.tenantId)).map((x) => x.id));
    const inB = await memory.recall(B, { agentId: b.agentId, endUserExternalId: 'U1', query: 'green tea in the morning', k: 50, maxDistance: 2 });
    expect(inB.ok && inB.value.memories.length).toBe(1);
    expect(inB.ok && inB.value.memories.some((m) => idsA.has(m.id))).toBe(false);
    // Tenant B naming tenant A's agent finds nothing.
    expect(await memory.recall(B, { agentId: a.agentId, endUserExternalId: 'U1', query: 'green tea', maxDistance: 2 })).toEqual({ ok: true, value: { plan: 'exact', memories: [] } });
  });

  it('is enforced by row-level security, not by the WHERE clause: SQL naming tenant A returns nothing under tenant B', async () => {
    const q = { agentId: a.agentId, vector: embedText('green tea'), model: LOCAL_EMBEDDING_MODEL, k: 50, endUserExternalId: 'U1' };
    const sqlForA = memorySearchSql(A, q, 'exact');
    const underA = await db.withTenant(A, (tx) => tx.$queryRaw<{ id: string }[]>(sqlForA));
    expect(underA.length).toBeGreaterThan(0);
    const underB = await db.withTenant(B, (tx) => tx.$queryRaw<{ id: string }[]>(sqlForA));
    expect(underB).toEqual([]);
    const ann = await db.withTenant(B, (tx) => tx.$queryRaw<{ id: string }[]>(memorySearchSql(A, { ...q, endUserExternalId: undefined }, 'ann')));
    expect(ann).toEqual([]);
    // And an unfiltered read sees only the scope's own rows.
    const [{ n }] = await db.withTenant(B, (tx) => tx.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM memory_items`) as [{ n: bigint }];
    expect(Number(n)).toBe((await rowsOf(B.tenantId)).length);
  });
});
