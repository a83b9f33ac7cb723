import { randomUUID } from 'node:crypto';
import { isUuid, type Logger, type TenantEvent } from '@konstruct/core';
import { Prisma, type Db, type TenantScope, type TenantTx } from '@konstruct/db';
import type { ChatResult } from '../llm/types.ts';
import { actualUsage } from './estimate.ts';
import { windowEnd, windowStart, type BudgetPeriod } from './periods.ts';
import type {
  BudgetExhausted,
  BudgetHold,
  BudgetScopeKind,
  BudgetUnit,
  ReserveRequest,
  ReserveResult,
  Reservation,
  UsageAmounts,
} from './types.ts';

/** What settle needs from a finished call; a router result (ChatResult) fits as it is. */
export type SettledCall = Pick<ChatResult, 'provider' | 'model' | 'usage' | 'latencyMs' | 'costUsdMicros'>;

export interface SettleResult {
  /** False when this reservation was settled before (settle is idempotent). */
  settled: boolean;
  actual: UsageAmounts;
  /** Budgets whose window was charged; fewer than the holds if some were purged or deleted meanwhile. */
  charged: number;
}

export interface BudgetLedgerOptions {
  db: Db;
  logger: Logger;
  /** Live usage events (the runner's Redis publisher); must not throw. */
  publishEvent?: (event: TenantEvent) => void;
  /** Windows, expiry and usage timestamps all follow this clock. */
  now?: () => Date;
  /**
   * How long a hold lives without being settled or released. Must exceed the longest LLM call
   * including the router's retries and fallbacks; a call that outlives its hold is still
   * settled into `spent`, but meanwhile its room was lent to others (the overshoot bound
   * assumes it was not). Default 10 minutes.
   */
  holdTtlMs?: number;
  /** How long an expired hold is kept so that a late settle still finds it. Default 24 hours. */
  expiredRetentionMs?: number;
}

export const DEFAULT_HOLD_TTL_MS = 10 * 60_000;
export const DEFAULT_EXPIRED_RETENTION_MS = 24 * 60 * 60_000;

interface BudgetRowRaw {
  id: string;
  agentId: string | null;
  period: BudgetPeriod;
  unit: BudgetUnit;
  limit: bigint;
}

interface WindowRaw {
  budgetId: string;
  spent: bigint;
  reserved: bigint;
}

const toBig = (v: bigint | number | string) => (typeof v === 'bigint' ? v : BigInt(v));

/**
 * Per-agent and per-tenant budgets, enforced around each LLM call: `reserve` before it,
 * `settle` after it (or `release` if it did not happen).
 *
 * Atomicity: a reservation runs in one transaction that locks the window row of every budget
 * that applies (the agent's and the tenant's, each period and unit) with SELECT … FOR UPDATE in
 * (budget_id, window_start) order, checks them all, and adds the estimate to each window's
 * `reserved` only if all admit the call. Settle and release lock the same rows in the same
 * order. So concurrent reservations from any number of processes serialize per window, and
 * never deadlock.
 *
 * Admission: a budget admits a call while it has room left (spent + reserved < limit), even
 * when the estimate is larger than the room — that call is the one that may overshoot. Its
 * hold then covers the rest of the budget, so every later call is refused until something
 * settles. With estimates that bound the calls' usage (estimateCall), the total spent in a
 * window therefore never exceeds the limit by more than the usage of one call, however many
 * calls run at once. With `requireFit` a call is admitted only if its estimate fits entirely
 * (used before trying a cheaper model). A zero estimate always fits (a free local model
 * against a money budget).
 *
 * Windows are UTC days or months (see periods.ts). A call is charged to the windows it was
 * reserved in, even if it finishes after midnight. A budget created during a window starts
 * with the usage recorded in that window before the budget existed (the window row is created
 * on first use), so setting a budget mid-month counts what the month has spent so far.
 *
 * Crash safety: holds are rows (budget_reservations) with an expiry. The next reservation on
 * the same window, or `sweepExpired`, gives expired holds back; settle writes the usage record
 * and moves the hold to `spent` in one transaction, keyed by the reservation id, so a repeated
 * settle changes nothing.
 */
export class BudgetLedger {
  private readonly db: Db;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly ttlMs: number;
  private readonly retentionMs: number;
  private readonly publishEvent?: (event: TenantEvent) => void;

  constructor(opts: BudgetLedgerOptions) {
    this.db = opts.db;
    this.log = opts.logger.child({ source: 'budget' });
    this.now = opts.now ?? (() => new Date());
    this.ttlMs = opts.holdTtlMs ?? DEFAULT_HOLD_TTL_MS;
    this.retentionMs = opts.expiredRetentionMs ?? DEFAULT_EXPIRED_RETENTION_MS;
    if (opts.publishEvent) this.publishEvent = opts.publishEvent;
  }

  /**
   * Holds `estimate` against every budget that applies to the agent, or names the budget that
   * refused. No budgets: an empty reservation (settle still records the usage).
   */
  async reserve(scope: TenantScope, req: ReserveRequest): Promise<ReserveResult> {
    if (!isUuid(req.agentId)) throw new TypeError(`reserve: agentId is not a uuid: ${JSON.stringify(req.agentId)}`);
    checkAmounts('estimate', req.estimate);
    const now = this.now();
    const reservation: Reservation = {
      id: randomUUID(),
      tenantId: scope.tenantId,
      agentId: req.agentId.toLowerCase(),
      conversationId: req.conversationId ?? null,
      estimate: { tokens: req.estimate.tokens, usdMicros: req.estimate.usdMicros },
      holds: [],
      expiresAt: new Date(now.getTime() + this.ttlMs),
    };
    if (req.noBudgets) return { ok: true, reservation };

    return this.db.withTenant(scope, async (tx) => {
      const budgets = await tx.$queryRaw<BudgetRowRaw[]>`
        SELECT id::text AS id, agent_id::text AS "agentId", period::text AS period, unit::text AS unit, "limit"
          FROM budgets
         WHERE tenant_id = ${scope.tenantId}::uuid AND (agent_id IS NULL OR agent_id = ${reservation.agentId}::uuid)
         ORDER BY id`;
      if (budgets.length === 0) return { ok: true, reservation };

      const ids = budgets.map((b) => b.id);
      const starts = budgets.map((b) => windowStart(b.period, now).toISOString());
      const ends = budgets.map((b) => windowEnd(b.period, now).toISOString());

      // First use of a window creates it. A budget created during this window starts from the
      // window's usage recorded before the budget existed (nothing later: that was either
      // charged through a hold, or reserved before the budget existed); older budgets' new
      // windows start at zero.
      await tx.$executeRaw`
        INSERT INTO budget_windows (budget_id, tenant_id, window_start, spent, reserved)
        SELECT b.id, b.tenant_id, x.ws,
               (SELECT coalesce(sum(CASE WHEN b.unit = 'tokens' THEN u.input_tokens::bigint + u.output_tokens
                                         ELSE u.cost_usd_micros END), 0)
                  FROM usage_records u
                 WHERE u.tenant_id = b.tenant_id AND (b.agent_id IS NULL OR u.agent_id = b.agent_id)
                   AND u.created_at >= x.ws AND u.created_at < least(x.we, b.created_at)),
               0
          FROM unnest(${ids}::uuid[], ${starts}::timestamptz[], ${ends}::timestamptz[]) AS x(id, ws, we)
          JOIN budgets b ON b.id = x.id
         ORDER BY b.id
        ON CONFLICT (budget_id, window_start) DO NOTHING`;

      const locked = await lockWindows(tx, ids, starts);
      const swept = await this.sweepWindows(tx, scope, ids, starts, now);
      const state = new Map<string, WindowRaw>(locked.map((w) => [w.budgetId, w]));
      for (const w of swept) state.set(w.budgetId, w);

      const holds: BudgetHold[] = [];
      const blocked: BudgetExhausted[] = [];
      budgets.forEach((b, i) => {
        const w = state.get(b.id);
        if (!w) throw new Error(`budget window ${b.id}@${starts[i]} missing after insert`);
        const limit = toBig(b.limit);
        const spent = toBig(w.spent);
        const reserved = toBig(w.reserved);
        const amount = b.unit === 'tokens' ? BigInt(req.estimate.tokens) : req.estimate.usdMicros;
        const room = limit - spent - reserved;
        const scopeKind: BudgetScopeKind = b.agentId === null ? 'tenant' : 'agent';
        const fits = amount === 0n || amount <= room;
        if (fits || (room > 0n && !req.requireFit)) {
          holds.push({ budgetId: b.id, scope: scopeKind, period: b.period, unit: b.unit, windowStart: new Date(starts[i]!), amount, crossing: !fits });
        } else {
          blocked.push({
            budgetId: b.id, scope: scopeKind, period: b.period, unit: b.unit, limit, spent, reserved,
            windowStart: new Date(starts[i]!), resetsAt: new Date(ends[i]!),
            reason: room > 0n ? 'does_not_fit' : 'no_room', requested: amount,
          });
        }
      });
      if (blocked.length) return { ok: false, exhausted: primaryBlock(blocked) };

      await tx.$executeRaw`
        WITH held AS (
          INSERT INTO budget_reservations (id, budget_id, tenant_id, window_start, unit, amount, created_at, expires_at)
          SELECT ${reservation.id}::uuid, x.id, ${scope.tenantId}::uuid, x.ws, x.unit::budget_unit, x.amount,
                 ${now.toISOString()}::timestamptz, ${reservation.expiresAt.toISOString()}::timestamptz
            FROM unnest(${holds.map((h) => h.budgetId)}::uuid[], ${holds.map((h) => h.windowStart.toISOString())}::timestamptz[],
                        ${holds.map((h) => h.unit)}::text[], ${holds.map((h) => h.amount.toString())}::bigint[]) AS x(id, ws, unit, amount)
          RETURNING budget_id, window_start, amount
        )
        UPDATE budget_windows w SET reserved = w.reserved + h.amount
          FROM held h
         WHERE w.budget_id = h.budget_id AND w.window_start = h.window_start`;
      reservation.holds = holds;
      return { ok: true, reservation };
    });
  }

  /**
   * Records the finished call: its usage row, and its actual usage moved from `reserved` to
   * `spent` in every window it held (the actual may exceed the estimate). Then publishes the
   * live usage event. Idempotent: the usage row is keyed by the reservation id.
   */
  async settle(scope: TenantScope, reservation: Reservation, call: SettledCall): Promise<SettleResult> {
    checkReservation(scope, reservation);
    const actual = actualUsage(call);
    checkAmounts('actual', actual);
    const now = this.now();
    // One transaction in one message: the windows locked (in the global order), the usage row
    // written once (keyed by the reservation), and only then the holds moved to `spent`.
    const held = reservation.holds.length > 0;
    const results = await this.db.tenantBatch(scope, [
      ...(held ? [lockReservationWindowsSql(scope, reservation.id)] : []),
      Prisma.sql`
        WITH recorded AS (
          INSERT INTO usage_records (id, tenant_id, agent_id, conversation_id, provider, model, input_tokens, output_tokens,
                                     cache_read_tokens, cache_write_tokens, cost_usd_micros, latency_ms, created_at)
          VALUES (${reservation.id}::uuid, ${scope.tenantId}::uuid, ${reservation.agentId}::uuid, ${reservation.conversationId}::uuid,
                  ${call.provider}::llm_provider, ${call.model}, ${call.usage.inputTokens}::int, ${call.usage.outputTokens}::int,
                  ${call.usage.cacheReadTokens}::int, ${call.usage.cacheWriteTokens}::int, ${actual.usdMicros.toString()}::bigint,
                  ${Math.round(call.latencyMs)}::int, ${now.toISOString()}::timestamptz)
          ON CONFLICT (id) DO NOTHING
          RETURNING id
        ), gone AS (
          DELETE FROM budget_reservations
           WHERE id = ${reservation.id}::uuid AND tenant_id = ${scope.tenantId}::uuid AND EXISTS (SELECT 1 FROM recorded)
          RETURNING budget_id, window_start, unit, amount, expired_at
        ), charged AS (
          UPDATE budget_windows w
             SET spent = w.spent + CASE WHEN g.unit = 'tokens' THEN ${BigInt(actual.tokens).toString()}::bigint
                                        ELSE ${actual.usdMicros.toString()}::bigint END,
                 reserved = CASE WHEN g.expired_at IS NULL THEN greatest(0, w.reserved - g.amount) ELSE w.reserved END
            FROM gone g
           WHERE w.budget_id = g.budget_id AND w.window_start = g.window_start
          RETURNING w.budget_id
        )
        SELECT EXISTS (SELECT 1 FROM recorded) AS settled, (SELECT count(*) FROM charged)::int AS charged`,
    ]);
    const row = results.at(-1)?.[0];
    const outcome = { settled: row?.settled === true, charged: Number(row?.charged ?? 0) };

    if (!outcome.settled) {
      this.log.warn({ tenantId: scope.tenantId, reservationId: reservation.id }, 'reservation settled twice; the second settle changed nothing');
    } else {
      if (outcome.charged < reservation.holds.length) {
        this.log.warn(
          { tenantId: scope.tenantId, reservationId: reservation.id, holds: reservation.holds.length, charged: outcome.charged },
          'some holds were gone at settle (released before, purged after expiry, or budget deleted); usage recorded, those budgets not charged',
        );
      }
      this.publish({
        type: 'usage',
        tenantId: scope.tenantId,
        agentId: reservation.agentId,
        conversationId: reservation.conversationId,
        provider: call.provider,
        model: call.model,
        inputTokens: call.usage.inputTokens,
        outputTokens: call.usage.outputTokens,
        costUsdMicros: actual.usdMicros.toString(),
        at: now.toISOString(),
      });
    }
    return { ...outcome, actual };
  }

  /** Gives the holds back when the call did not happen. Returns how many holds were released. */
  async release(scope: TenantScope, reservation: Reservation): Promise<number> {
    checkReservation(scope, reservation);
    if (reservation.holds.length === 0) return 0;
    return this.db.withTenant(scope, async (tx) => {
      await lockReservationWindows(tx, scope, reservation.id);
      const released = await tx.$queryRaw<{ budgetId: string }[]>`
        WITH gone AS (
          DELETE FROM budget_reservations WHERE id = ${reservation.id}::uuid AND tenant_id = ${scope.tenantId}::uuid
          RETURNING budget_id, window_start, amount, expired_at
        )
        UPDATE budget_windows w
           SET reserved = CASE WHEN g.expired_at IS NULL THEN greatest(0, w.reserved - g.amount) ELSE w.reserved END
          FROM gone g
         WHERE w.budget_id = g.budget_id AND w.window_start = g.window_start
        RETURNING w.budget_id::text AS "budgetId"`;
      return released.length;
    });
  }

  /**
   * Gives back every expired hold of the tenant, in any window, and deletes expired holds past
   * their retention; returns how many holds of each kind. Reservations already do this for the windows they touch; this is for a
   * periodic job, so that past windows show no stale `reserved` either.
   */
  async sweepExpired(scope: TenantScope): Promise<{ expired: number; purged: number }> {
    const now = this.now();
    return this.db.withTenant(scope, async (tx) => {
      const windows = await tx.$queryRaw<{ budgetId: string; windowStart: Date }[]>`
        SELECT w.budget_id::text AS "budgetId", w.window_start AS "windowStart"
          FROM budget_windows w
         WHERE w.tenant_id = ${scope.tenantId}::uuid
           AND (w.budget_id, w.window_start) IN (
             SELECT r.budget_id, r.window_start FROM budget_reservations r
              WHERE r.tenant_id = ${scope.tenantId}::uuid AND r.expired_at IS NULL AND r.expires_at <= ${now.toISOString()}::timestamptz)
         ORDER BY w.budget_id, w.window_start
           FOR UPDATE OF w`;
      const purged = await tx.$executeRaw`
        DELETE FROM budget_reservations
         WHERE tenant_id = ${scope.tenantId}::uuid AND expired_at IS NOT NULL
           AND expired_at < ${new Date(now.getTime() - this.retentionMs).toISOString()}::timestamptz`;
      const ids = windows.map((w) => w.budgetId);
      const starts = windows.map((w) => new Date(w.windowStart).toISOString());
      const expired = await this.sweepWindows(tx, scope, ids, starts, now);
      return { expired: expired.reduce((n, w) => n + w.holds, 0), purged };
    });
  }

  /**
   * Within windows this transaction has locked: marks their expired holds and gives the
   * amounts back; deletes expired holds of those budgets past retention. Returns the windows
   * whose `reserved` changed, with their new state and how many holds expired in each.
   */
  private async sweepWindows(
    tx: TenantTx,
    scope: TenantScope,
    ids: string[],
    starts: string[],
    now: Date,
  ): Promise<(WindowRaw & { holds: number })[]> {
    if (ids.length === 0) return [];
    return tx.$queryRaw<(WindowRaw & { holds: number })[]>`
      WITH purged AS (
        DELETE FROM budget_reservations
         WHERE tenant_id = ${scope.tenantId}::uuid AND budget_id = ANY(${ids}::uuid[]) AND expired_at IS NOT NULL
           AND expired_at < ${new Date(now.getTime() - this.retentionMs).toISOString()}::timestamptz
      ), expired AS (
        UPDATE budget_reservations r SET expired_at = ${now.toISOString()}::timestamptz
          FROM unnest(${ids}::uuid[], ${starts}::timestamptz[]) AS x(id, ws)
         WHERE r.tenant_id = ${scope.tenantId}::uuid AND r.budget_id = x.id AND r.window_start = x.ws
           AND r.expired_at IS NULL AND r.expires_at <= ${now.toISOString()}::timestamptz
        RETURNING r.budget_id, r.window_start, r.amount
      ), freed AS (
        SELECT budget_id, window_start, sum(amount) AS amount, count(*)::int AS holds FROM expired GROUP BY budget_id, window_start
      )
      UPDATE budget_windows w SET reserved = greatest(0, w.reserved - f.amount)
        FROM freed f
       WHERE w.budget_id = f.budget_id AND w.window_start = f.window_start
      RETURNING w.budget_id::text AS "budgetId", w.spent, w.reserved, f.holds`;
  }

  private publish(event: TenantEvent): void {
    try {
      this.publishEvent?.(event);
    } catch (e) {
      this.log.warn({ err: (e as Error).message, type: event.type }, 'usage event not published');
    }
  }
}

/** Locks the given windows in the one global order every budget transaction uses. */
function lockWindows(tx: TenantTx, ids: string[], starts: string[]): Promise<WindowRaw[]> {
  return tx.$queryRaw<WindowRaw[]>`
    SELECT w.budget_id::text AS "budgetId", w.spent, w.reserved
      FROM budget_windows w
      JOIN unnest(${ids}::uuid[], ${starts}::timestamptz[]) AS x(id, ws) ON w.budget_id = x.id AND w.window_start = x.ws
     ORDER BY w.budget_id, w.window_start
       FOR UPDATE OF w`;
}

async function lockReservationWindows(tx: TenantTx, scope: TenantScope, reservationId: string): Promise<void> {
  await tx.$queryRaw(lockReservationWindowsSql(scope, reservationId));
}

/** Locks the windows a reservation holds, in the global order. */
function lockReservationWindowsSql(scope: TenantScope, reservationId: string): Prisma.Sql {
  return Prisma.sql`
    SELECT 1 AS locked
      FROM budget_windows w
     WHERE w.tenant_id = ${scope.tenantId}::uuid
       AND (w.budget_id, w.window_start) IN (
         SELECT r.budget_id, r.window_start FROM budget_reservations r
          WHERE r.id = ${reservationId}::uuid AND r.tenant_id = ${scope.tenantId}::uuid)
     ORDER BY w.budget_id, w.window_start
       FOR UPDATE OF w`;
}

const UNIT_RANK: Record<BudgetUnit, number> = { tokens: 0, usd_micros: 1 };
const SCOPE_RANK: Record<BudgetScopeKind, number> = { agent: 0, tenant: 1 };

/**
 * The budget to report when several refuse: one with no room at all before one the call
 * merely does not fit (no model change helps the former); tokens before money (a cheaper
 * model does not use fewer tokens); the one that resets last; the agent's before the tenant's.
 */
function primaryBlock(blocked: BudgetExhausted[]): BudgetExhausted {
  return [...blocked].sort(
    (a, b) =>
      (a.reason === 'no_room' ? 0 : 1) - (b.reason === 'no_room' ? 0 : 1) ||
      UNIT_RANK[a.unit] - UNIT_RANK[b.unit] ||
      b.resetsAt.getTime() - a.resetsAt.getTime() ||
      SCOPE_RANK[a.scope] - SCOPE_RANK[b.scope],
  )[0]!;
}

function checkAmounts(what: string, a: UsageAmounts): void {
  if (!Number.isSafeInteger(a.tokens) || a.tokens < 0) throw new TypeError(`${what}.tokens must be a whole number ≥ 0, got ${a.tokens}`);
  if (typeof a.usdMicros !== 'bigint' || a.usdMicros < 0n) throw new TypeError(`${what}.usdMicros must be a bigint ≥ 0, got ${String(a.usdMicros)}`);
}

function checkReservation(scope: TenantScope, r: Reservation): void {
  if (r.tenantId !== scope.tenantId) throw new Error(`reservation ${r.id} belongs to another tenant than the scope`);
}
