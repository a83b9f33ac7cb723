import { periodStart } from './periods.ts';

export const MAX_USAGE_WINDOW_DAYS = 366;
const DAY_MS = 86_400_000;

export type UsageDimension = 'day' | 'agent' | 'model' | 'provider';
const DIMENSION_ORDER: UsageDimension[] = ['day', 'agent', 'model', 'provider'];

/** Why a usage window [from, to) is refused, or null when it is fine. */
export function usageWindowProblem(from: Date, to: Date): string | null {
  if (!(to.getTime() > from.getTime())) return '`to` must be after `from`';
  if (to.getTime() - from.getTime() > MAX_USAGE_WINDOW_DAYS * DAY_MS) return `the window may span at most ${MAX_USAGE_WINDOW_DAYS} days`;
  return null;
}

/** An agent's usage without explicit bounds: the current UTC month so far. */
export function defaultUsageWindow(now: Date): { from: Date; to: Date } {
  return { from: periodStart('month', now), to: now };
}

/** Grouping dimensions without duplicates, in a fixed order so bucket columns are stable. */
export function normalizeDimensions(dims: readonly UsageDimension[]): UsageDimension[] {
  const set = new Set(dims);
  return DIMENSION_ORDER.filter((d) => set.has(d));
}
