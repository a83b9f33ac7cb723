export type BudgetPeriod = 'day' | 'month';

/**
 * Start of the budget window containing `at`: midnight UTC of the day, or of the first day of
 * the month. Windows are keyed by this instant in budget_windows, and the billing subgraph
 * (subgraphs/billing/src/domain/periods.ts) computes it the same way to show the current
 * window, so the two must never disagree. UTC on purpose: one tenant's agents may serve
 * people in many time zones, and a budget must not reset twice when a clock changes.
 */
export function windowStart(period: BudgetPeriod, at: Date): Date {
  const y = at.getUTCFullYear();
  const m = at.getUTCMonth();
  return period === 'day' ? new Date(Date.UTC(y, m, at.getUTCDate())) : new Date(Date.UTC(y, m, 1));
}

/** First instant after the window containing `at`: when the budget resets. */
export function windowEnd(period: BudgetPeriod, at: Date): Date {
  const start = windowStart(period, at);
  return period === 'day'
    ? new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate() + 1))
    : new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
}
