export type BudgetPeriod = 'day' | 'month';

/**
 * Start of the budget window containing `at`: midnight UTC of the day, or of the first day
 * of the month. Budget windows are keyed by this instant, so everything that reads or
 * writes them must compute it the same way.
 */
export function periodStart(period: BudgetPeriod, at: Date): Date {
  const y = at.getUTCFullYear();
  const m = at.getUTCMonth();
  return period === 'day' ? new Date(Date.UTC(y, m, at.getUTCDate())) : new Date(Date.UTC(y, m, 1));
}
