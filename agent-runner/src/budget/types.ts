import type { BudgetPeriod } from './periods.ts';

export type { BudgetPeriod };
export type BudgetUnit = 'tokens' | 'usd_micros';
/** A tenant-wide budget (budgets.agent_id NULL) or one agent's. */
export type BudgetScopeKind = 'agent' | 'tenant';
/** Agent.onBudgetExhausted. */
export type BudgetAction = 'refuse' | 'cheaper_model' | 'handoff';

/**
 * One call's usage in both budget units. Tokens are input plus output tokens (input includes
 * cached prompt tokens, see ChatUsage), as the billing subgraph documents the TOKENS unit;
 * money is micro-dollars from the price table.
 */
export interface UsageAmounts {
  tokens: number;
  usdMicros: bigint;
}

/** What a reservation holds against one budget's current window. */
export interface BudgetHold {
  budgetId: string;
  scope: BudgetScopeKind;
  period: BudgetPeriod;
  unit: BudgetUnit;
  windowStart: Date;
  /** The estimate in this budget's unit. */
  amount: bigint;
  /** The estimate did not fit into what was left of this budget: this call may overshoot it. */
  crossing: boolean;
}

/** Taken before an LLM call; settle it with the call's usage, or release it if the call did not happen. */
export interface Reservation {
  id: string;
  tenantId: string;
  agentId: string;
  conversationId: string | null;
  estimate: UsageAmounts;
  /** One per budget that applies (none when the tenant has no budgets). */
  holds: BudgetHold[];
  /** Holds not settled or released by then are given back to their windows (crash safety). */
  expiresAt: Date;
}

/** The budget that refused a reservation, with its current window. */
export interface BudgetExhausted {
  budgetId: string;
  scope: BudgetScopeKind;
  period: BudgetPeriod;
  unit: BudgetUnit;
  limit: bigint;
  /** Settled spend in the current window. */
  spent: bigint;
  /** Held by calls in flight. */
  reserved: bigint;
  windowStart: Date;
  /** When the window ends and the budget starts again from zero. */
  resetsAt: Date;
  /**
   * `no_room`: spent + reserved has reached the limit; no call is admitted until something
   * settles or the window ends. `does_not_fit`: there is room, but less than the estimate and
   * the caller asked for a fit (`requireFit`), e.g. to try a cheaper model first.
   */
  reason: 'no_room' | 'does_not_fit';
  /** The refused estimate in this budget's unit. */
  requested: bigint;
}

export type ReserveResult = { ok: true; reservation: Reservation } | { ok: false; exhausted: BudgetExhausted };

export interface ReserveRequest {
  agentId: string;
  /** Recorded on the usage row when the call is settled. */
  conversationId?: string | null;
  /** An upper bound of the call's usage; see estimateCall. */
  estimate: UsageAmounts;
  /**
   * Refuse unless the estimate fits into every budget (default false: admit while any room is
   * left, so a budget is used up to its end and overshoots by at most this one call).
   */
  requireFit?: boolean;
  /**
   * The caller found no budget for the agent or tenant in its own transaction just before:
   * nothing is held and no transaction is spent; settle still records the usage. A budget
   * created in between counts this call as reserved before it existed.
   */
  noBudgets?: boolean;
}
