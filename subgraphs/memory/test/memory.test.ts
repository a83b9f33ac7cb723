import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TenantScope } from '@konstruct/db';
import { createTenant, ownerClient } from '../../../test/support/db.ts';
import { as, startTestSubgraph } from '../../../test/support/subgraph.ts';
import { schema } from '../src/schema/index.ts';
import { cosine, embedText } from '@konstruct/core';
import { createAgent, insertMemory } from './support.ts';

/**
 * The memory subgraph against the real (embedded) database with pgvector: memories are
 * inserted as the owner with vectors from the built-in embedder, then searched, listed and
 * deleted through GraphQL with gateway-signed identities.
 */

type Sub = Awaited<ReturnType<typeof startTestSubgraph>>;
let sub: Sub;
let owner: pg.Client;

const T0 = Date.UTC(2026, 1, 1, 9, 0, 0);
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

const ITEM = 'id agentId conversationId endUserExternalId text embeddingModel metadata createdAt';
const SEARCH = `query($agentId: ID!, $query: String!, $endUser: String, $limit: Int) {
  searchMemories(agentId: $agentId, query: $query, endUserExternalId: $endUser, limit: $limit) { score item { id text agentId endUserExternalId } } }`;
const LIST = `query($agentId: ID, $endUser: String, $first: Int, $after: String) {
  memories(agentId: $agentId, endUserExternalId: $endUser, first: $first, after: $after) { items { ${ITEM} } nextCursor } }`;
const DELETE = `mutation($id: ID!) { deleteMemory(id: $id) { __typename ... on Deleted { id } ... on NotFound { id message } } }`;
const FORGET = `mutation($agentId: ID!, $endUser: String!) { forgetEndUser(agentId: $agentId, endUserExternalId: $endUser) { deletedCount } }`;

/** Which of these memory ids still exist (as the owner, past RLS), sorted. */
const existing = async (ids: string[]) =>
  (await owner.query<{ id: string }>('SELECT id::text AS id FROM memory_items WHERE id = ANY($1::uuid[])', [ids])).rows.map((r) => r.id).sort();

/** Two tenants with look-alike memories: the same end-user id and the same sentences. */
async function world() {
  const A = await createTenant(owner, 'Memory A');
  const B = await createTenant(owner, 'Memory B');
  const a1 = await createAgent(owner, A.tenantId, 'Ava');
  const a2 = await createAgent(owner, A.tenantId, 'Ben');
  const b1 = await createAgent(owner, B.tenantId, 'Cleo');
  const m = (tenant: TenantScope, agentId: string, minute: number, text: string, endUserExternalId: string | null = null, extra = {}) =>
    insertMemory(owner, { tenantId: tenant.tenantId, agentId, text, endUserExternalId, createdAt: at(minute), ...extra });
  const A1 = [
    await m(A, a1, 0, 'Prefers green tea in the morning', 'U1'),
    await m(A, a1, 1, 'Allergic to peanuts', 'U1'),
    await m(A, a1, 2, 'Lives in Lisbon near the river', 'U1'),
    await m(A, a1, 3, 'Likes green tea with honey', 'U2'),
    await m(A, a1, 4, 'Works night shifts at the hospital', 'U2'),
    await m(A, a1, 5, 'The office closes at six on Fridays', null, { metadata: { source: 'handbook' } }),
  ];
  // Comparable only within one embedding model: this one must never be a search hit.
  const otherModel = await m(A, a1, 6, 'green tea green tea', 'U1', {
    embeddingModel: 'some-other-model', embedding: embedText('green tea green tea'),
  });
  const A2 = [await m(A, a2, 7, 'Prefers green tea in the morning', 'U1')];
  const B1 = [
    await m(B, b1, 0, 'Prefers green tea in the morning', 'U1'),
    await m(B, b1, 1, 'Likes green tea with honey', 'U1'),
  ];
  return { A, B, a1, a2, b1, A1, A2, B1, otherModel };
}
let w: Awaited<ReturnType<typeof world>>;

beforeAll(async () => {
  owner = await ownerClient();
  sub = await startTestSubgraph('memory-subgraph', schema);
  w = await world();
});

afterAll(async () => {
  await sub?.close();
  await owner?.end();
});

describe('searchMemories', () => {
  it('returns the most similar first, exactly as brute force over the agent\'s memories ranks them', async () => {
    const query = 'does the customer like green tea';
    const r = await sub.call(SEARCH, { agentId: w.a1, query, limit: 50 }, as.viewer(w.A.tenantId));
    expect(r.errors).toBeUndefined();
    const hits = r.data.searchMemories as { score: number; item: { id: string; text: string; agentId: string } }[];

    const q = embedText(query);
    const expected = w.A1.map((x) => ({ id: x.id, score: cosine(q, embedText(x.text)) })).sort((x, y) => y.score - x.score);
    expect(hits.map((h) => h.item.id)).toEqual(expected.map((e) => e.id));
    // pgvector stores float4: scores agree with the float64 brute force to about 1e-6.
    hits.forEach((h, i) => expect(h.score).toBeCloseTo(expected[i]!.score, 5));
    expect(hits.slice(0, 2).map((h) => h.item.text).sort()).toEqual(['Likes green tea with honey', 'Prefers green tea in the morning']);
    expect(hits[0]!.score).toBeGreaterThan(hits.at(-1)!.score + 0.3);
    for (const h of hits) expect(h.item.agentId).toBe(w.a1);
    expect(hits.map((h) => h.item.id)).not.toContain(w.otherModel.id);
  });

  it('scores an identical text as 1, honours limit and the end-user filter', async () => {
    const exact = await sub.call(SEARCH, { agentId: w.a1, query: 'Allergic to peanuts!', limit: 1 }, as.admin(w.A.tenantId));
    expect(exact.data.searchMemories).toHaveLength(1);
    expect(exact.data.searchMemories[0].item.id).toBe(w.A1[1]!.id);
    expect(exact.data.searchMemories[0].score).toBeCloseTo(1, 5);

    const u2 = await sub.call(SEARCH, { agentId: w.a1, query: 'green tea', endUser: 'U2' }, as.admin(w.A.tenantId));
    expect(u2.data.searchMemories.map((h: any) => h.item.id)).toEqual([w.A1[3]!.id, w.A1[4]!.id]);
    for (const h of u2.data.searchMemories) expect(h.item.endUserExternalId).toBe('U2');
  });

  it('only ever searches the caller\'s tenant', async () => {
    const allIdsA = new Set([...w.A1, ...w.A2, w.otherModel].map((x) => x.id));
    const inB = await sub.call(SEARCH, { agentId: w.b1, query: 'Prefers green tea in the morning', endUser: 'U1' }, as.viewer(w.B.tenantId));
    expect(inB.data.searchMemories.map((h: any) => h.item.id)).toEqual([w.B1[0]!.id, w.B1[1]!.id]);
    for (const h of inB.data.searchMemories) expect(allIdsA.has(h.item.id)).toBe(false);
    // A naming B's agent (or B naming A's) finds nothing, even with an identical sentence there.
    expect((await sub.call(SEARCH, { agentId: w.b1, query: 'Prefers green tea in the morning' }, as.admin(w.A.tenantId))).data)
      .toEqual({ searchMemories: [] });
    expect((await sub.call(SEARCH, { agentId: w.a1, query: 'Prefers green tea in the morning' }, as.admin(w.B.tenantId))).data)
      .toEqual({ searchMemories: [] });
  });

  it('caps limit at 50; a query with no words finds nothing; an over-long query is refused', async () => {
    const many = await createAgent(owner, w.A.tenantId, 'Hoarder');
    const v = embedText('note');
    for (let i = 0; i < 55; i++) await insertMemory(owner, { tenantId: w.A.tenantId, agentId: many, text: `note ${i}`, embedding: v });
    expect((await sub.call(SEARCH, { agentId: many, query: 'note', limit: 500 }, as.admin(w.A.tenantId))).data.searchMemories).toHaveLength(50);
    expect((await sub.call(SEARCH, { agentId: many, query: 'note', limit: 0 }, as.admin(w.A.tenantId))).data.searchMemories).toHaveLength(1);
    expect((await sub.call(SEARCH, { agentId: many, query: 'note' }, as.admin(w.A.tenantId))).data.searchMemories).toHaveLength(10);

    expect((await sub.call(SEARCH, { agentId: w.a1, query: '  ?! ' }, as.admin(w.A.tenantId))).data).toEqual({ searchMemories: [] });
    // A stored memory without words has a zero vector (cosine distance NaN): never a hit, never an error.
    const sparse = await createAgent(owner, w.A.tenantId, 'Sparse');
    const real = await insertMemory(owner, { tenantId: w.A.tenantId, agentId: sparse, text: 'tea' });
    await insertMemory(owner, { tenantId: w.A.tenantId, agentId: sparse, text: '…' });
    const sparseHits = await sub.call(SEARCH, { agentId: sparse, query: 'tea', limit: 5 }, as.admin(w.A.tenantId));
    expect(sparseHits.errors).toBeUndefined();
    expect(sparseHits.data.searchMemories.map((h: any) => h.item.id)).toEqual([real.id]);
    expect((await sub.call(SEARCH, { agentId: 'not-a-uuid', query: 'tea' }, as.admin(w.A.tenantId))).data).toEqual({ searchMemories: [] });
    const long = await sub.call(SEARCH, { agentId: w.a1, query: 'tea '.repeat(2_000) }, as.admin(w.A.tenantId));
    expect(long.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('memories', () => {
  it('lists newest first with cursor pagination, filtered by agent and end user; never the vector', async () => {
    const pages: any[] = [];
    let after: string | null = null;
    do {
      const r: any = await sub.call(LIST, { agentId: w.a1, first: 4, after }, as.viewer(w.A.tenantId));
      expect(r.errors).toBeUndefined();
      pages.push(r.data.memories);
      after = r.data.memories.nextCursor;
    } while (after && pages.length < 10);
    const all = [...w.A1, w.otherModel];
    expect(pages.map((p) => p.items.length)).toEqual([4, 3]);
    expect(pages.flatMap((p) => p.items.map((i: any) => i.id))).toEqual([...all].reverse().map((x) => x.id));

    const office = pages.flatMap((p) => p.items).find((i: any) => i.id === w.A1[5]!.id);
    expect(office).toEqual({
      id: w.A1[5]!.id, agentId: w.a1, conversationId: null, endUserExternalId: null, text: 'The office closes at six on Fridays',
      embeddingModel: 'konstruct-hash-384', metadata: { source: 'handbook' }, createdAt: at(5).toISOString(),
    });
    expect(Object.keys((schema.getType('MemoryItem') as any).getFields())).not.toContain('embedding');

    const u1 = await sub.call(LIST, { agentId: w.a1, endUser: 'U1' }, as.viewer(w.A.tenantId));
    expect(u1.data.memories.items.map((i: any) => i.id)).toEqual([w.otherModel.id, w.A1[2]!.id, w.A1[1]!.id, w.A1[0]!.id]);
    const everyAgentU1 = await sub.call(LIST, { endUser: 'U1', first: 100 }, as.viewer(w.A.tenantId));
    expect(everyAgentU1.data.memories.items).toHaveLength(5);
  });

  it('a tenant never lists or resolves another tenant\'s memories', async () => {
    const bAsA = await sub.call(LIST, { agentId: w.b1 }, as.admin(w.A.tenantId));
    expect(bAsA.data.memories).toEqual({ items: [], nextCursor: null });
    const inB = await sub.call(LIST, { first: 100 }, as.admin(w.B.tenantId));
    expect(inB.data.memories.items.map((i: any) => i.id).sort()).toEqual(w.B1.map((x) => x.id).sort());

    const entities = `query($r: [_Any!]!) { _entities(representations: $r) { ... on MemoryItem { id text } } }`;
    const r = await sub.call(entities, { r: [{ __typename: 'MemoryItem', id: w.B1[0]!.id }, { __typename: 'MemoryItem', id: w.A1[0]!.id }] }, as.viewer(w.A.tenantId));
    expect(r.data).toEqual({ _entities: [null, { id: w.A1[0]!.id, text: 'Prefers green tea in the morning' }] });
  });

  it('Agent.memories pages the agent\'s memories within the caller\'s tenant', async () => {
    const q = `query($r: [_Any!]!, $first: Int) { _entities(representations: $r) { ... on Agent { id memories(first: $first) { items { id } nextCursor } } } }`;
    const r = await sub.call(q, { r: [{ __typename: 'Agent', id: w.a2 }, { __typename: 'Agent', id: w.b1 }], first: 5 }, as.viewer(w.A.tenantId));
    expect(r.errors).toBeUndefined();
    expect(r.data._entities).toEqual([
      { id: w.a2, memories: { items: [{ id: w.A2[0]!.id }], nextCursor: null } },
      { id: w.b1, memories: { items: [], nextCursor: null } },
    ]);
  });

  it('rejects a cursor it did not issue', async () => {
    const r = await sub.call(LIST, { after: 'garbage' }, as.admin(w.A.tenantId));
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('forgetEndUser and deleteMemory', () => {
  it('forgetEndUser deletes exactly that end user\'s memories with that agent, in the caller\'s tenant', async () => {
    const x = await world();
    const r = await sub.call(FORGET, { agentId: x.a1, endUser: 'U1' }, as.admin(x.A.tenantId));
    expect(r.errors).toBeUndefined();
    // Three U1 memories of a1, plus the other-model one: every vector about U1 goes.
    expect(r.data.forgetEndUser).toEqual({ deletedCount: 4 });

    const survivors = [x.A1[3]!, x.A1[4]!, x.A1[5]!, ...x.A2, ...x.B1].map((m) => m.id).sort();
    const everything = [...x.A1, ...x.A2, ...x.B1, x.otherModel].map((m) => m.id);
    expect(await existing(everything)).toEqual(survivors);

    // A cannot reach B's U1 through B's agent id; B's identical rows survive.
    expect((await sub.call(FORGET, { agentId: x.b1, endUser: 'U1' }, as.admin(x.A.tenantId))).data.forgetEndUser).toEqual({ deletedCount: 0 });
    expect(await existing(x.B1.map((m) => m.id))).toEqual(x.B1.map((m) => m.id).sort());
    // Idempotent.
    expect((await sub.call(FORGET, { agentId: x.a1, endUser: 'U1' }, as.admin(x.A.tenantId))).data.forgetEndUser).toEqual({ deletedCount: 0 });
  });

  it('deleteMemory removes the caller\'s memory; another tenant\'s id is NotFound and survives', async () => {
    const x = await world();
    const own = x.A1[0]!.id;
    expect((await sub.call(DELETE, { id: own }, as.admin(x.A.tenantId))).data).toEqual({ deleteMemory: { __typename: 'Deleted', id: own } });
    expect(await existing([own])).toEqual([]);
    expect((await sub.call(DELETE, { id: own }, as.admin(x.A.tenantId))).data.deleteMemory.__typename).toBe('NotFound');

    const foreign = x.B1[0]!.id;
    expect((await sub.call(DELETE, { id: foreign }, as.admin(x.A.tenantId))).data).toEqual({
      deleteMemory: { __typename: 'NotFound', id: foreign, message: `memory ${foreign} not found` },
    });
    expect(await existing([foreign])).toEqual([foreign]);
    expect((await sub.call(DELETE, { id: 'not-a-uuid' }, as.admin(x.A.tenantId))).data.deleteMemory.__typename).toBe('NotFound');
  });

  it('viewers cannot delete or forget (FORBIDDEN), and nothing is removed', async () => {
    const x = await world();
    const del = await sub.call(DELETE, { id: x.A1[0]!.id }, as.viewer(x.A.tenantId));
    expect(del.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(del.data).toBeNull();
    const forget = await sub.call(FORGET, { agentId: x.a1, endUser: 'U1' }, as.viewer(x.A.tenantId));
    expect(forget.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const ids = [...x.A1, x.otherModel].map((m) => m.id);
    expect(await existing(ids)).toEqual([...ids].sort());
  });
});

describe('access', () => {
  it('401 without an identity; no data for an anonymous or tenant-less identity', async () => {
    const none = await sub.call(LIST, {}, null);
    expect(none.status).toBe(401);
    expect(none.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const anon = await sub.call(SEARCH, { agentId: w.a1, query: 'tea' }, as.anonymous());
    expect(anon.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const noTenant = await sub.call(LIST, {}, as.platform(null));
    expect(noTenant.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
