import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_EMBEDDING_MODEL, embedText, toVectorLiteral } from '@konstruct/core';
import {
  clearMemoryPlanCache,
  efSearchFor,
  memoryAnnIndexName,
  memoryPlanFor,
  memorySearchSql,
  searchMemoryVectors,
  type Db,
  type MemoryPlan,
  type MemoryVectorQuery,
  type TenantScope,
} from '@konstruct/db';
import { appDb, createTenant, ownerClient } from '../../../test/support/db.ts';
import { ensureMemoryIndexes } from '../../src/memory/maintenance.ts';
import { denseDistance, denseSpace, recallByDistance, rng } from '../../../bench/lib/memory-corpus.ts';
import { createAgent } from './support.ts';

/**
 * The per-group search plan, at a small scale with a low threshold so both plans run: a small
 * group is searched exactly, a group over the threshold through its own partial HNSW index.
 * Recall@10 of both against brute force (distances computed here), and EXPLAIN of what the
 * planner actually does. Vectors are dense, like a real embedding model's (bench/lib/memory-corpus.ts).
 */

const MODEL = 'test-dense-384';
const THRESHOLD = 500;
const K = 10;

let owner: pg.Client;
let db: Db;
let S: TenantScope;
let L: TenantScope;
const space = denseSpace(11, 64, 512);

interface Group {
  scope: TenantScope;
  agentId: string;
  topics: number[];
  vectors: { id: string; v: number[]; endUser: string }[];
}
let small: Group;
let large: Group;

async function seedGroup(scope: TenantScope, n: number, seed: number): Promise<Group> {
  const agentId = await createAgent(owner, scope.tenantId);
  const r = rng(seed);
  // Each group talks about a handful of topics, as one agent's memories do.
  const topics = Array.from({ length: 6 }, () => Math.floor(r() * space.centres.length));
  const vectors = Array.from({ length: n }, (_, i) => ({ id: randomUUID(), v: space.sample(r, topics[i % topics.length]), endUser: `U${i % 20}` }));
  for (let i = 0; i < n; i += 200) {
    const chunk = vectors.slice(i, i + 200);
    await owner.query(
      `INSERT INTO memory_items (id, tenant_id, agent_id, end_user_external_id, text, embedding, embedding_model)
       SELECT u.id, $1, $2, u.eu, 'memory', u.v::vector, $3 FROM unnest($4::uuid[], $5::text[], $6::text[]) AS u(id, eu, v)`,
      [scope.tenantId, agentId, MODEL, chunk.map((x) => x.id), chunk.map((x) => x.endUser), chunk.map((x) => toVectorLiteral(x.v))],
    );
  }
  return { scope, agentId, topics, vectors };
}

/** Queries about what the group's memories are about (its topics), as real questions are. */
const queriesFor = (g: Group, seed: number, n: number) => {
  const r = rng(seed);
  return Array.from({ length: n }, () => space.sample(r, g.topics[Math.floor(r() * g.topics.length)]));
};

async function search(g: Group, q: Omit<MemoryVectorQuery, 'agentId' | 'model' | 'k'>) {
  return db.withTenant(g.scope, (tx) => searchMemoryVectors(tx, g.scope, { agentId: g.agentId, model: MODEL, k: K, ...q }));
}

/** Mean recall@10 over the queries, against distances computed here over the group's vectors. */
async function meanRecall(g: Group, queries: number[][], endUser?: string) {
  let sum = 0;
  const plans = new Set<MemoryPlan>();
  for (const v of queries) {
    const res = await search(g, { vector: v, endUserExternalId: endUser });
    plans.add(res.plan);
    const truth = g.vectors.filter((x) => endUser === undefined || x.endUser === endUser).map((x) => denseDistance(v, x.v));
    sum += recallByDistance(truth, res.hits.map((h) => h.distance), K);
    // Nearest first, every time.
    expect(res.hits.map((h) => h.distance)).toEqual([...res.hits.map((h) => h.distance)].sort((x, y) => x - y));
  }
  return { recall: sum / queries.length, plans };
}

async function explain(g: Group, q: MemoryVectorQuery, plan: MemoryPlan): Promise<string> {
  return db.withTenant(g.scope, async (tx) => {
    // The settings the search itself uses for the approximate plan (memory-search.ts annReady).
    if (plan === 'ann') {
      await tx.$queryRaw`SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), set_config('hnsw.ef_search', ${String(efSearchFor(q.k))}, true), set_config('enable_sort', 'off', true)`;
    }
    const rows = await tx.$queryRaw<{ 'QUERY PLAN': string }[]>`EXPLAIN ${memorySearchSql(g.scope, q, plan)}`;
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  });
}

beforeAll(async () => {
  owner = await ownerClient();
  db = appDb(4);
  S = await createTenant(owner, 'Small memory');
  L = await createTenant(owner, 'Large memory');
  small = await seedGroup(S, 150, 1);
  large = await seedGroup(L, 1_200, 2);
  await owner.query('ANALYZE memory_items');
  clearMemoryPlanCache();
}, 60_000);

afterAll(async () => {
  await db?.close();
  await owner?.end();
});

describe('per-group plan', () => {
  it('the maintenance function indexes only groups at or over the threshold, and not the built-in embedder\'s', async () => {
    // A big group of the built-in embedder: always searched exactly, never indexed.
    const hashAgent = await createAgent(owner, L.tenantId);
    await owner.query(
      `INSERT INTO memory_items (id, tenant_id, agent_id, text, embedding, embedding_model)
       SELECT gen_random_uuid(), $1, $2, 'note ' || g, $3::vector, $4 FROM generate_series(1, 600) g`,
      [L.tenantId, hashAgent, toVectorLiteral(embedText('note')), LOCAL_EMBEDDING_MODEL],
    );
    expect(await ensureMemoryIndexes(owner, { threshold: THRESHOLD, tenantId: S.tenantId })).toEqual([]);
    const actions = await ensureMemoryIndexes(owner, { threshold: THRESHOLD, tenantId: L.tenantId });
    expect(actions).toEqual([
      { indexName: memoryAnnIndexName(L.tenantId, large.agentId), tenantId: L.tenantId, agentId: large.agentId, rows: 1_200, action: 'create' },
    ]);
    expect((await ensureMemoryIndexes(owner, { threshold: THRESHOLD, tenantId: L.tenantId })).map((x) => x.action)).toEqual(['keep']);
    const idx = await owner.query<{ indexdef: string }>('SELECT indexdef FROM pg_indexes WHERE indexname = $1', [memoryAnnIndexName(L.tenantId, large.agentId)]);
    expect(idx.rows[0]?.indexdef).toMatch(/USING hnsw \(embedding vector_cosine_ops\) WHERE \(\(tenant_id = '[0-9a-f-]+'::uuid\) AND \(agent_id = '[0-9a-f-]+'::uuid\)\)/);
    await db.withTenant(L, async (tx) => {
      expect(await memoryPlanFor(tx, L, large.agentId)).toBe('ann');
      expect(await memoryPlanFor(tx, L, hashAgent)).toBe('exact');
    });
    await db.withTenant(S, async (tx) => expect(await memoryPlanFor(tx, S, small.agentId)).toBe('exact'));
  });

  it('recall@10 ≥ 0.95 against brute force for the small group (exact) and the large group (partial HNSW)', async () => {
    const s = await meanRecall(small, queriesFor(small, 101, 20));
    const l = await meanRecall(large, queriesFor(large, 102, 20));
    expect([...s.plans]).toEqual(['exact']);
    expect([...l.plans]).toEqual(['ann']);
    expect(s.recall).toBe(1);
    expect(l.recall).toBeGreaterThanOrEqual(0.95);
  });

  it('searches one end user\'s memories exactly, even in an indexed group', async () => {
    const r = await meanRecall(large, queriesFor(large, 103, 10), 'U7');
    expect([...r.plans]).toEqual(['exact']);
    expect(r.recall).toBe(1);
    const res = await search(large, { vector: queriesFor(large, 104, 1)[0]!, endUserExternalId: 'U7' });
    expect(res.hits).toHaveLength(K);
    expect(res.hits.every((h) => h.endUserExternalId === 'U7')).toBe(true);
  });

  it('EXPLAIN: the small group reads its B-tree and sorts; the large group walks its own HNSW index; end-user search stays exact', async () => {
    const q = (g: Group, extra: Partial<MemoryVectorQuery> = {}): MemoryVectorQuery => ({ agentId: g.agentId, vector: queriesFor(g, 105, 1)[0]!, model: MODEL, k: K, ...extra });
    const annIndex = memoryAnnIndexName(L.tenantId, large.agentId);

    const smallPlan = await explain(small, q(small), 'exact');
    expect(smallPlan).toMatch(/memory_items_tenant_id_agent_id_idx/);
    expect(smallPlan).toMatch(/Sort/);
    expect(smallPlan).not.toMatch(/memory_items_ann_/);

    const largePlan = await explain(large, q(large), 'ann');
    expect(largePlan).toContain(`Index Scan using ${annIndex} on memory_items`);
    expect(largePlan).toMatch(/Order By: \(embedding <=>/);

    const userPlan = await explain(large, q(large, { endUserExternalId: 'U7' }), 'exact');
    expect(userPlan).not.toContain(annIndex);
    expect(userPlan).toMatch(/Sort/);

    // Without its index, the approximate SQL is still sorted exactly (a stale plan cache is harmless).
    const otherTenant = await explain(small, q(small), 'ann');
    expect(otherTenant).not.toMatch(/memory_items_ann_/);
  });

  it('drops the index when the group shrinks below half the threshold, or is gone', async () => {
    const extra = await seedGroup(L, 600, 3);
    await ensureMemoryIndexes(owner, { threshold: THRESHOLD, tenantId: L.tenantId, concurrently: true });
    const name = memoryAnnIndexName(L.tenantId, extra.agentId);
    const exists = async () => (await owner.query('SELECT 1 FROM pg_indexes WHERE indexname = $1', [name])).rowCount === 1;
    expect(await exists()).toBe(true);

    // 300 left: under the threshold but not under half of it — kept, so it does not flap.
    await owner.query('DELETE FROM memory_items WHERE id = ANY($1::uuid[])', [extra.vectors.slice(0, 300).map((x) => x.id)]);
    expect((await ensureMemoryIndexes(owner, { threshold: THRESHOLD, tenantId: L.tenantId })).find((x) => x.indexName === name)?.action).toBe('keep');
    await owner.query('DELETE FROM memory_items WHERE id = ANY($1::uuid[])', [extra.vectors.slice(300, 360).map((x) => x.id)]);
    expect((await ensureMemoryIndexes(owner, { threshold: THRESHOLD, tenantId: L.tenantId })).find((x) => x.indexName === name)?.action).toBe('drop');
    expect(await exists()).toBe(false);
    await db.withTenant(L, async (tx) => expect(await memoryPlanFor(tx, L, extra.agentId)).toBe('exact'));

    // The agent is deleted (its memories with it): its index is an orphan and goes too.
    const gone = await seedGroup(L, 520, 4);
    await ensureMemoryIndexes(owner, { threshold: THRESHOLD, tenantId: L.tenantId });
    await owner.query('DELETE FROM agents WHERE id = $1', [gone.agentId]);
    const after = await ensureMemoryIndexes(owner, { threshold: THRESHOLD, tenantId: L.tenantId });
    expect(after).toContainEqual({ indexName: memoryAnnIndexName(L.tenantId, gone.agentId), tenantId: null, agentId: null, rows: 0, action: 'drop' });
    // The large group's index is untouched.
    expect(after).toContainEqual(expect.objectContaining({ agentId: large.agentId, action: 'keep' }));
  });

  it('refuses a non-positive threshold and is not callable by the application role', async () => {
    await expect(ensureMemoryIndexes(owner, { threshold: 0 })).rejects.toThrow(/positive number of rows/);
    await expect(db.withTenant(L, (tx) => tx.$queryRaw`SELECT * FROM konstruct_memory_ensure_indexes(1, NULL, false)`)).rejects.toThrow(/permission denied/);
  });
});
