import { randomUUID } from 'node:crypto';
import { err, ok, type Result } from '@konstruct/core';
import type { Prisma, TenantScope, TenantTx } from '@konstruct/db';
import type { InputProblem } from '../domain/budget-input.ts';
import { isUuid } from '../domain/ids.ts';
import { periodStart, type BudgetPeriod } from '../domain/periods.ts';

export type BudgetUnit = 'tokens' | 'usd_micros';

export interface BudgetWindowView {
  windowStart: Date;
  spent: bigint;
  reserved: bigint;
}

export type BudgetRow = Prisma.BudgetModel & { currentWindow: BudgetWindowView };

/** Loads only the windows that can be current now: today's and this month's. */
function currentWindows(now: Date) {
  return { where: { windowStart: { in: [periodStart('day', now), periodStart('month', now)] } } };
}

function withCurrentWindow(b: Prisma.BudgetGetPayload<{ include: { windows: true } }>, now: Date): BudgetRow {
  const start = periodStart(b.period, now);
  const w = b.windows.find((x) => x.windowStart.getTime() === start.getTime());
  const { windows: _windows, ...budget } = b;
  return { ...budget, currentWindow: { windowStart: start, spent: w?.spent ?? 0n, reserved: w?.reserved ?? 0n } };
}

/** All budgets when `agentId` is undefined; the agent's when it is set. Tenant-wide first. */
export async function listBudgets(tx: TenantTx, args: { agentId?: string | undefined }, now = new Date()): Promise<BudgetRow[]> {
  if (args.agentId !== undefined && !isUuid(args.agentId)) return [];
  const rows = await tx.budget.findMany({
    where: args.agentId === undefined ? {} : { agentId: args.agentId },
    include: { windows: currentWindows(now) },
    orderBy: [{ agentId: { sort: 'asc', nulls: 'first' } }, { period: 'asc' }, { unit: 'asc' }, { createdAt: 'asc' }],
  });
  return rows.map((b) => withCurrentWindow(b, now));
}

export async function getBudget(tx: TenantTx, id: string, now = new Date()): Promise<BudgetRow | null> {
  if (!isUuid(id)) return null;
  const b = await tx.budget.findUnique({ where: { id }, include: { windows: currentWindows(now) } });
  return b && withCurrentWindow(b, now);
}

const PERIOD_RANK: Record<BudgetPeriod, number> = { month: 0, day: 1 };
const UNIT_RANK: Record<BudgetUnit, number> = { usd_micros: 0, tokens: 1 };

/** The budget shown on an agent: monthly before daily, then money before tokens. */
export async function agentBudget(tx: TenantTx, agentId: string, now = new Date()): Promise<BudgetRow | null> {
  const all = await listBudgets(tx, { agentId }, now);
  all.sort((a, b) => PERIOD_RANK[a.period] - PERIOD_RANK[b.period] || UNIT_RANK[a.unit] - UNIT_RANK[b.unit]);
  return all[0] ?? null;
}

export interface SetBudgetInput {
  agentId: string | null;
  period: BudgetPeriod;
  unit: BudgetUnit;
  limit: bigint;
}

/**
 * Creates the budget for (agent or whole tenant, period, unit) or changes its limit. One
 * statement, so concurrent calls cannot create two rows: the tenant-wide case conflicts on
 * the partial unique index (NULLs are distinct in the composite one).
 */
export async function upsertBudget(
  tx: TenantTx,
  scope: TenantScope,
  input: SetBudgetInput,
  now = new Date(),
): Promise<Result<BudgetRow, InputProblem>> {
  if (input.agentId !== null) {
    // The foreign key is checked without row-level security, so it would accept another
    // tenant's agent; look the agent up as this tenant first.
    const agent = await tx.agent.findUnique({ where: { id: input.agentId }, select: { id: true } });
    if (!agent) return err({ message: `agent ${input.agentId} not found`, field: 'agentId' });
  }
  const id = randomUUID();
  const limit = input.limit.toString();
  const rows =
    input.agentId === null
      ? await tx.$queryRaw<{ id: string }[]>`
          INSERT INTO budgets (id, tenant_id, agent_id, period, unit, "limit", created_at, updated_at)
          VALUES (${id}::uuid, ${scope.tenantId}::uuid, NULL, ${input.period}::budget_period, ${input.unit}::budget_unit,
                  ${limit}::bigint, now(), now())
          ON CONFLICT (tenant_id, period, unit) WHERE agent_id IS NULL
          DO UPDATE SET "limit" = EXCLUDED."limit", updated_at = now()
          RETURNING id::text AS id`
      : await tx.$queryRaw<{ id: string }[]>`
          INSERT INTO budgets (id, tenant_id, agent_id, period, unit, "limit", created_at, updated_at)
          VALUES (${id}::uuid, ${scope.tenantId}::uuid, ${input.agentId}::uuid, ${input.period}::budget_period,
                  ${input.unit}::budget_unit, ${limit}::bigint, now(), now())
          ON CONFLICT (tenant_id, agent_id, period, unit)
          DO UPDATE SET "limit" = EXCLUDED."limit", updated_at = now()
          RETURNING id::text AS id`;
  const saved = rows[0] && (await getBudget(tx, rows[0].id, now));
  if (!saved) throw new Error('budget upsert returned no row');
  return ok(saved);
}

/** True when a budget was deleted; row-level security makes other tenants' ids not found. */
export async function deleteBudget(tx: TenantTx, id: string): Promise<boolean> {
  if (!isUuid(id)) return false;
  const { count } = await tx.budget.deleteMany({ where: { id } });
  return count > 0;
}
