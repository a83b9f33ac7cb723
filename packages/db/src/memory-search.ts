import { createHash } from 'node:crypto';
import { LOCAL_EMBEDDING_MODEL, isUuid, toVectorLiteral } from '@konstruct/core';
import { Prisma } from './generated/prisma/client.ts';
import type { TenantScope, TenantTx } from './client.ts';

/**
 * Nearest-neighbour search over `memory_items`, correct within one tenant at any size.
 *
 * Every search is scoped to one (tenant, agent) — the candidate set. Small groups are searched
 * exactly (B-tree on tenant and agent, then a top-k sort); a group that crossed the threshold
 * has a partial HNSW index holding exactly its rows, created by `konstruct_memory_ensure_indexes`
 * (migration 20261127000100_memory_recall). The plan follows the index: found → approximate
 * with `hnsw.iterative_scan`, absent → exact. Both plans return right answers when the cache
 * below is stale (an approximate query without its index is sorted exactly; an exact query on
 * an indexed group is only slower). Vectors of the built-in embedder are always searched
 * exactly (EXACT_ONLY_MODELS).
 *
 * Row-level security is what confines a search to the scope's tenant; the tenant predicate in
 * the SQL is there so the planner can prove the partial index applies.
 */

export type MemoryPlan = 'exact' | 'ann';

/**
 * Models always searched exactly, whatever the group size. The built-in hashing embedder
 * writes sparse lexical vectors (a few dozen of 384 dimensions set, most pairs orthogonal) on
 * which HNSW navigates badly. Measured on the embedded database with generated customer facts:
 * 20 000 memories, default index (m 16, ef_construction 64): recall@10 0.70 at ef_search 100,
 * 0.948 at 1000; 60 000 memories with m 32, ef_construction 200 (a 3-minute build): 0.945 at
 * ef_search 600, 0.978 at 1000. Exact search is always right; a tenant with that many memories
 * per agent should use a real embedding model, whose dense vectors HNSW handles well.
 * Must match `p_exact_models` of konstruct_memory_ensure_indexes.
 */
export const EXACT_ONLY_MODELS: ReadonlySet<string> = new Set([LOCAL_EMBEDDING_MODEL]);

export interface MemoryVectorQuery {
  agentId: string;
  /** The query vector, by the same model as `model`. */
  vector: readonly number[];
  /** Only rows embedded by this model are comparable. */
  model: string;
  k: number;
  /**
   * Undefined: every memory of the agent. Null: only the agent's shared memories (about no end
   * user). A string: only memories about that end user, plus the shared ones when
   * `includeShared`.
   */
  endUserExternalId?: string | null;
  includeShared?: boolean;
}

export interface MemoryVectorHit {
  id: string;
  agentId: string;
  conversationId: string | null;
  endUserExternalId: string | null;
  text: string;
  embeddingModel: string;
  metadata: Prisma.JsonValue;
  createdAt: Date;
  /** Cosine distance: 0 identical, 1 unrelated, 2 opposite. */
  distance: number;
}

export interface MemorySearchResult {
  /** The plan of the agent-wide part of the search (end-user rows are always exact). */
  plan: MemoryPlan;
  hits: MemoryVectorHit[];
}

/** Same name as the SQL function `konstruct_memory_ann_index_name`. */
export function memoryAnnIndexName(tenantId: string, agentId: string): string {
  return `memory_items_ann_${createHash('md5').update(`${tenantId.toLowerCase()}:${agentId.toLowerCase()}`).digest('hex')}`;
}

/**
 * `hnsw.ef_search` for k results: the candidate list of the graph walk. pgvector's default, 40,
 * is too short for memories, whose neighbourhoods are crowded (many near-equal distances):
 * on 100 000 dense vectors (bench/memory-recall.ts and ad-hoc runs) recall@10 was 0.955–0.985
 * at 100 and 0.972–0.990 at 200, for about 10 % more time. A wider list also keeps recall up when the model filter drops candidates.
 * pgvector caps it at 1000.
 */
export const efSearchFor = (k: number) => Math.min(1000, Math.max(200, 20 * k));

/** How long a seen index (or its absence) is trusted before the catalog is asked again. */
const PLAN_TTL_MS = 60_000;
const planCache = new Map<string, { ann: boolean; at: number }>();

/** Forget cached plans, e.g. right after the maintenance job created or dropped indexes. */
export function clearMemoryPlanCache(): void {
  planCache.clear();
}

// Tenant and agent go into the SQL as literals (both checked to be UUIDs): a partial index is
// only usable when the planner sees constants, and a cached generic plan would not have them.
const uuidLiteral = (id: string) => {
  if (!isUuid(id)) throw new Error(`not a uuid: ${JSON.stringify(id)}`);
  return Prisma.raw(`'${id.toLowerCase()}'::uuid`);
};

const COLUMNS = Prisma.sql`id::text AS "id", agent_id::text AS "agentId", conversation_id::text AS "conversationId",
  end_user_external_id AS "endUserExternalId", text, embedding_model AS "embeddingModel", metadata, created_at AS "createdAt"`;

type EndUserFilter = { kind: 'all' } | { kind: 'user'; id: string } | { kind: 'shared' } | { kind: 'userOrShared'; id: string };

function endUserSql(f: EndUserFilter): Prisma.Sql {
  switch (f.kind) {
    case 'all':
      return Prisma.empty;
    case 'user':
      return Prisma.sql`AND end_user_external_id = ${f.id}`;
    case 'shared':
      return Prisma.sql`AND end_user_external_id IS NULL`;
    case 'userOrShared':
      return Prisma.sql`AND (end_user_external_id = ${f.id} OR end_user_external_id IS NULL)`;
  }
}

/**
 * The SQL of one plan, exported so tests can EXPLAIN exactly what runs.
 * - exact orders by the function `cosine_distance()`, which no index can serve, so Postgres
 *   reads the group through its B-tree and sorts: exact whatever indexes exist;
 * - ann orders by the operator `<=>` that the partial HNSW index serves. With a relaxed
 *   iterative scan the index yields rows only roughly in order; an outer ORDER BY would not
 *   help (the planner sees the rows as already ordered by that expression and drops it), so
 *   the k rows are sorted after the query.
 */
export function memorySearchSql(scope: TenantScope, q: MemoryVectorQuery, plan: MemoryPlan, filter: EndUserFilter = filterOf(q)): Prisma.Sql {
  const vector = toVectorLiteral(q.vector);
  const where = Prisma.sql`tenant_id = ${uuidLiteral(scope.tenantId)} AND agent_id = ${uuidLiteral(q.agentId)}
    AND embedding_model = ${q.model} ${endUserSql(filter)}`;
  if (plan === 'exact') {
    return Prisma.sql`SELECT ${COLUMNS}, cosine_distance(embedding, ${vector}::vector) AS distance
      FROM memory_items WHERE ${where} ORDER BY distance LIMIT ${q.k}`;
  }
  return Prisma.sql`SELECT ${COLUMNS}, embedding <=> ${vector}::vector AS distance
      FROM memory_items WHERE ${where} ORDER BY embedding <=> ${vector}::vector LIMIT ${q.k}`;
}

function filterOf(q: MemoryVectorQuery): EndUserFilter {
  if (q.endUserExternalId === undefined) return { kind: 'all' };
  if (q.endUserExternalId === null) return { kind: 'shared' };
  return q.includeShared ? { kind: 'userOrShared', id: q.endUserExternalId } : { kind: 'user', id: q.endUserExternalId };
}

/**
 * Whether the group has its partial HNSW index, and — when it may — the settings the
 * approximate plan needs, transaction-local, in the same round trip. `enable_sort = off` makes
 * the planner take the index walk even where it estimates a scan-and-sort of the group as
 * cheaper (a group near the threshold, fresh statistics): the plan stays the one chosen here,
 * and its latency predictable. Statements that can only sort (the exact plan) still do.
 */
async function annReady(tx: TenantTx, scope: TenantScope, agentId: string, k: number): Promise<boolean> {
  const name = memoryAnnIndexName(scope.tenantId, agentId);
  const cached = planCache.get(name);
  if (cached && !cached.ann && Date.now() - cached.at < PLAN_TTL_MS) return false;
  const [row] = await tx.$queryRaw<{ ann: boolean }[]>`
    SELECT s.ann,
           set_config('hnsw.iterative_scan', 'relaxed_order', true),
           set_config('hnsw.ef_search', ${String(efSearchFor(k))}, true),
           set_config('enable_sort', CASE WHEN s.ann THEN 'off' ELSE current_setting('enable_sort') END, true)
      FROM (SELECT to_regclass(${`public.${name}`}) IS NOT NULL AS ann) s`;
  const ann = row?.ann === true;
  planCache.set(name, { ann, at: Date.now() });
  return ann;
}

/** Which plan a search of this group would use now (asks the catalog; for tests and tools). */
export async function memoryPlanFor(tx: TenantTx, scope: TenantScope, agentId: string, k = 10): Promise<MemoryPlan> {
  planCache.delete(memoryAnnIndexName(scope.tenantId, agentId));
  return (await annReady(tx, scope, agentId, k)) ? 'ann' : 'exact';
}

/**
 * The one statement of an exact search, for a caller's batch (`db.tenantBatch`), when the plan
 * is known without asking the catalog: a model always searched exactly, or a group whose
 * recently seen absence of an index is cached. Null otherwise (`searchMemoryVectors` decides
 * then). `memoryHitsFromRows` turns the statement's rows into the same hits.
 */
export function exactMemorySearchStatement(scope: TenantScope, q: MemoryVectorQuery): Prisma.Sql | null {
  if (!isUuid(q.agentId) || q.k < 1) return null;
  const filter = filterOf(q);
  if (filter.kind !== 'user' && !EXACT_ONLY_MODELS.has(q.model)) {
    const cached = planCache.get(memoryAnnIndexName(scope.tenantId, q.agentId));
    if (!cached || cached.ann || Date.now() - cached.at >= PLAN_TTL_MS) return null;
  }
  return memorySearchSql(scope, q, 'exact', filter);
}

export function memoryHitsFromRows(rows: readonly Record<string, unknown>[]): MemoryVectorHit[] {
  return finite(rows.map((r) => ({ ...(r as unknown as MemoryVectorHit), createdAt: new Date(r.createdAt as string | Date) })));
}

/** Nearest first. A stored zero vector has no cosine distance (NaN): it is never a match. */
const finite = (rows: MemoryVectorHit[]) =>
  rows
    .flatMap((r) => (Number.isFinite(Number(r.distance)) ? [{ ...r, distance: Number(r.distance) }] : []))
    .sort((a, b) => a.distance - b.distance);

/**
 * The k memories nearest to `q.vector`, nearest first, within the scope's tenant. Runs inside
 * the caller's tenant transaction (`db.withTenant`).
 *
 * An end user's own memories are few, so they are always searched exactly (B-tree on tenant and
 * end user); filtering them out of a large group's HNSW walk would scan far past k.
 */
export async function searchMemoryVectors(tx: TenantTx, scope: TenantScope, q: MemoryVectorQuery): Promise<MemorySearchResult> {
  if (!isUuid(q.agentId) || q.k < 1) return { plan: 'exact', hits: [] };
  const filter = filterOf(q);
  if (filter.kind === 'user') {
    return { plan: 'exact', hits: finite(await tx.$queryRaw<MemoryVectorHit[]>(memorySearchSql(scope, q, 'exact', filter))) };
  }
  const ann = !EXACT_ONLY_MODELS.has(q.model) && (await annReady(tx, scope, q.agentId, q.k));
  if (!ann) {
    return { plan: 'exact', hits: finite(await tx.$queryRaw<MemoryVectorHit[]>(memorySearchSql(scope, q, 'exact', filter))) };
  }
  if (filter.kind !== 'userOrShared') {
    return { plan: 'ann', hits: finite(await tx.$queryRaw<MemoryVectorHit[]>(memorySearchSql(scope, q, 'ann', filter))) };
  }
  // The end user's memories exactly, the agent's shared ones through the index; then merged.
  const own = await tx.$queryRaw<MemoryVectorHit[]>(memorySearchSql(scope, q, 'exact', { kind: 'user', id: filter.id }));
  const shared = await tx.$queryRaw<MemoryVectorHit[]>(memorySearchSql(scope, q, 'ann', { kind: 'shared' }));
  const hits = finite([...own, ...shared]).slice(0, q.k);
  return { plan: 'ann', hits };
}
