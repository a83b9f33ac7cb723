import { errorMessage, type Logger } from '@konstruct/core';
import { clearMemoryPlanCache } from '@konstruct/db';

/**
 * Keeps the per-(tenant, agent) HNSW indexes of long-term memory in step with group sizes:
 * a group that reached `threshold` memories gets its partial index, one that shrank below
 * half of it loses it (migration 20261127000100_memory_recall, konstruct_memory_ensure_indexes).
 * Index DDL needs the table owner, so this runs on an owner connection — a maintenance job or
 * the migration runner, never the application roles.
 *
 * `concurrently` (production): the function only plans, and each CREATE/DROP INDEX runs as
 * its own statement with CONCURRENTLY, so writers to memory_items are not blocked during a
 * build. Without it the function applies everything in one transaction (embedded database,
 * tests), which blocks writes to memory_items while an index builds.
 */

/**
 * Rows of a group at which it gets its own HNSW index; below it, exact search is fast enough.
 * Measured on the embedded database (PGlite, WASM, no SIMD): exact search costs about 1.7 ms per
 * 1 000 rows of the group on top of the transaction (9 500 rows: p50 18 ms, p99 23 ms), so 5 000
 * keeps it near 10 ms. Native Postgres computes distances several times faster; there ~20 000
 * is a reasonable setting (MEMORY_INDEX_THRESHOLD).
 */
export const MEMORY_INDEX_THRESHOLD_DEFAULT = 5_000;

/** The slice of a Postgres client this needs (pg.Client, pg.Pool). */
export interface OwnerQuery {
  query<R = unknown>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

export interface IndexAction {
  indexName: string;
  tenantId: string | null;
  agentId: string | null;
  rows: number;
  action: 'create' | 'drop' | 'keep';
}

export interface MaintenanceOptions {
  threshold?: number;
  /** Only this tenant's groups (tests; a tenant's bulk import). */
  tenantId?: string;
  concurrently?: boolean;
}

interface Row {
  index_name: string;
  tenant_id: string | null;
  agent_id: string | null;
  row_count: string | number;
  action: IndexAction['action'];
  ddl: string | null;
}

export async function ensureMemoryIndexes(owner: OwnerQuery, opts: MaintenanceOptions = {}): Promise<IndexAction[]> {
  const threshold = opts.threshold ?? MEMORY_INDEX_THRESHOLD_DEFAULT;
  const { rows } = await owner.query<Row>('SELECT * FROM konstruct_memory_ensure_indexes($1, $2, $3)', [
    threshold,
    opts.tenantId ?? null,
    !opts.concurrently,
  ]);
  if (opts.concurrently) {
    for (const r of rows) if (r.ddl) await owner.query(r.ddl);
  }
  if (rows.some((r) => r.action !== 'keep')) clearMemoryPlanCache();
  return rows.map((r) => ({ indexName: r.index_name, tenantId: r.tenant_id, agentId: r.agent_id, rows: Number(r.row_count), action: r.action }));
}

/**
 * Runs `ensureMemoryIndexes` now and then every `intervalMs` until stopped. A failed round is
 * logged and retried at the next tick.
 */
export function startMemoryIndexMaintenance(owner: OwnerQuery, opts: MaintenanceOptions & { intervalMs: number; logger: Logger }) {
  const log = opts.logger.child({ source: 'memory-index-maintenance' });
  let running: Promise<void> | null = null;
  const tick = () => {
    if (running) return;
    running = ensureMemoryIndexes(owner, opts)
      .then((actions) => {
        const changed = actions.filter((a) => a.action !== 'keep');
        if (changed.length) log.info({ changed }, 'memory indexes updated');
      })
      .catch((e: unknown) => log.error({ err: errorMessage(e) }, 'memory index maintenance failed'))
      .finally(() => {
        running = null;
      });
  };
  tick();
  const timer = setInterval(tick, opts.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
