import { isUuid, isZeroVector, localEmbedder, type Embedder } from '@konstruct/core';
import { Prisma, searchMemoryVectors, type Db, type MemoryVectorHit, type TenantScope } from '@konstruct/db';
import { afterCursor, page, type CursorKey } from '@konstruct/graphql';

/** A memory as the API shows it: never the raw vector (a search hit without its distance). */
export type MemoryItemRecord = Omit<MemoryVectorHit, 'distance'>;

const SELECT = {
  id: true,
  agentId: true,
  conversationId: true,
  endUserExternalId: true,
  text: true,
  embeddingModel: true,
  metadata: true,
  createdAt: true,
} as const satisfies Prisma.MemoryItemSelect;

export { isUuid };

export const SEARCH_LIMIT_MAX = 50;
export const SEARCH_LIMIT_DEFAULT = 10;
/** Longest query text embedded; longer is a caller error, not something to truncate silently. */
export const SEARCH_QUERY_MAX_CHARS = 4_000;

export interface ListMemoriesArgs {
  agentId?: string | null;
  endUserExternalId?: string | null;
  first: number;
  after: CursorKey | null;
}

/** Newest first; row-level security confines the query to the scope's tenant. */
export async function listMemories(scope: TenantScope, db: Db, args: ListMemoriesArgs) {
  if (args.agentId != null && !isUuid(args.agentId)) return { items: [], nextCursor: null };
  const where: Prisma.MemoryItemWhereInput = {};
  if (args.agentId != null) where.agentId = args.agentId;
  if (args.endUserExternalId != null) where.endUserExternalId = args.endUserExternalId;
  const rows = await db.withTenant(scope, (tx) =>
    tx.memoryItem.findMany({
      where: { AND: [where, afterCursor(args.after)] },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: args.first + 1,
      select: SELECT,
    }),
  );
  return page(rows, args.first);
}

export async function getMemory(scope: TenantScope, db: Db, id: string): Promise<MemoryItemRecord | null> {
  if (!isUuid(id)) return null;
  return db.withTenant(scope, (tx) => tx.memoryItem.findUnique({ where: { id }, select: SELECT }));
}

export interface SearchArgs {
  agentId: string;
  query: string;
  endUserExternalId?: string | null;
  limit: number;
}

export interface SearchHit {
  item: MemoryItemRecord;
  /** Cosine similarity, 1 − cosine distance: 1 is identical, 0 unrelated. */
  score: number;
}

export const clampLimit = (limit: number | null | undefined) =>
  Math.max(1, Math.min(SEARCH_LIMIT_MAX, limit ?? SEARCH_LIMIT_DEFAULT));

/**
 * Nearest-neighbour search over the agent's memories in the caller's tenant, through the shared
 * per-group plan (`searchMemoryVectors`): exact for ordinary agents, the agent's partial HNSW
 * index once it has one. Only rows embedded by the same model as the query are comparable, so
 * others are skipped.
 */
export async function searchMemories(scope: TenantScope, db: Db, args: SearchArgs, embedder: Embedder = localEmbedder): Promise<SearchHit[]> {
  if (!isUuid(args.agentId)) return [];
  const vector = await embedder.embed(args.query);
  // Nothing to compare (no words): a zero vector has no cosine distance to anything.
  if (isZeroVector(vector)) return [];
  const { hits } = await db.withTenant(scope, (tx) =>
    searchMemoryVectors(tx, scope, {
      agentId: args.agentId,
      vector,
      model: embedder.model,
      k: args.limit,
      endUserExternalId: args.endUserExternalId ?? undefined,
    }),
  );
  return hits.map(({ distance, ...item }) => ({ item, score: 1 - distance }));
}

/** true when the memory existed in the scope's tenant and is now gone. */
export async function deleteMemory(scope: TenantScope, db: Db, id: string): Promise<boolean> {
  if (!isUuid(id)) return false;
  const { count } = await db.withTenant(scope, (tx) => tx.memoryItem.deleteMany({ where: { id } }));
  return count === 1;
}

/** The "forget me" request: every memory of one end user with one agent, in one statement. */
export async function forgetEndUser(scope: TenantScope, db: Db, agentId: string, endUserExternalId: string): Promise<number> {
  if (!isUuid(agentId)) return 0;
  const { count } = await db.withTenant(scope, (tx) => tx.memoryItem.deleteMany({ where: { agentId, endUserExternalId } }));
  return count;
}
