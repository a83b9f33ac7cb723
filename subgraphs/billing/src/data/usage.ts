import { Prisma, type TenantScope, type TenantTx } from '@konstruct/db';
import type { LlmProvider } from '../domain/provider-key-input.ts';
import { normalizeDimensions, type UsageDimension } from '../domain/usage-window.ts';

export interface UsageFilter {
  from: Date;
  to: Date;
  agentId?: string | null | undefined;
  model?: string | null | undefined;
}

export interface UsageBucketRow {
  /** `YYYY-MM-DD` (UTC) when grouped by day. */
  day: string | null;
  agentId: string | null;
  model: string | null;
  provider: LlmProvider | null;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** Sum of micro-dollars, as a decimal string (it can exceed 2^53). */
  costUsdMicros: string;
}

/** Select-list position of each dimension's column; GROUP BY and ORDER BY refer to these. */
const COLUMN: Record<UsageDimension, { position: number; expr: Prisma.Sql; alias: string }> = {
  day: { position: 1, expr: Prisma.sql`to_char(date_trunc('day', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD')`, alias: 'day' },
  agent: { position: 2, expr: Prisma.sql`agent_id::text`, alias: 'agentId' },
  model: { position: 3, expr: Prisma.sql`model`, alias: 'model' },
  provider: { position: 4, expr: Prisma.sql`provider::text`, alias: 'provider' },
};
const ALL: UsageDimension[] = ['day', 'agent', 'model', 'provider'];

/**
 * Usage in [from, to), summed in the database and grouped by the chosen dimensions (none:
 * one bucket with the totals). Token sums come back as float8 (exact to 2^53), cost as text.
 */
export async function usageBuckets(
  tx: TenantTx,
  scope: TenantScope,
  filter: UsageFilter,
  groupBy: readonly UsageDimension[],
): Promise<UsageBucketRow[]> {
  const dims = normalizeDimensions(groupBy);
  const select = Prisma.join(
    ALL.map((d) => {
      const c = COLUMN[d];
      return dims.includes(d) ? Prisma.sql`${c.expr} AS ${Prisma.raw(`"${c.alias}"`)}` : Prisma.sql`NULL::text AS ${Prisma.raw(`"${c.alias}"`)}`;
    }),
  );
  const conditions = [
    // Row-level security already confines the rows; the explicit filter lets the planner use
    // the (tenant_id, created_at) indexes.
    Prisma.sql`tenant_id = ${scope.tenantId}::uuid`,
    Prisma.sql`created_at >= ${filter.from.toISOString()}::timestamptz`,
    Prisma.sql`created_at < ${filter.to.toISOString()}::timestamptz`,
  ];
  if (filter.agentId) conditions.push(Prisma.sql`agent_id = ${filter.agentId}::uuid`);
  if (filter.model) conditions.push(Prisma.sql`model = ${filter.model}`);
  const positions = Prisma.raw(dims.map((d) => COLUMN[d].position).join(', '));
  const grouping = dims.length ? Prisma.sql`GROUP BY ${positions} ORDER BY ${positions}` : Prisma.empty;

  return tx.$queryRaw<UsageBucketRow[]>`
    SELECT ${select},
           count(*)::int AS "calls",
           coalesce(sum(input_tokens), 0)::float8 AS "inputTokens",
           coalesce(sum(output_tokens), 0)::float8 AS "outputTokens",
           coalesce(sum(cache_read_tokens), 0)::float8 AS "cacheReadTokens",
           coalesce(sum(cache_write_tokens), 0)::float8 AS "cacheWriteTokens",
           coalesce(sum(cost_usd_micros), 0)::text AS "costUsdMicros"
      FROM usage_records
     WHERE ${Prisma.join(conditions, ' AND ')}
     ${grouping}`;
}

export interface UsageSummaryRow {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  costUsdMicros: string;
}

export async function agentUsageSummary(
  tx: TenantTx,
  scope: TenantScope,
  agentId: string,
  window: { from: Date; to: Date },
): Promise<UsageSummaryRow> {
  const [total] = await usageBuckets(tx, scope, { ...window, agentId }, []);
  return total ?? { calls: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsdMicros: '0' };
}
