import { describe, expect, it } from 'vitest';
import { defaultUsageWindow, normalizeDimensions, usageWindowProblem } from './usage-window.ts';

const d = (s: string) => new Date(s);

describe('usageWindowProblem', () => {
  it('accepts up to exactly 366 days', () => {
    expect(usageWindowProblem(d('2024-01-01T00:00:00Z'), d('2025-01-01T00:00:00Z'))).toBeNull(); // leap year: 366 days
    expect(usageWindowProblem(d('2024-01-01T00:00:00Z'), d('2025-01-01T00:00:00.001Z'))).toMatch(/366 days/);
  });
  it('refuses empty and reversed windows', () => {
    expect(usageWindowProblem(d('2025-01-01T00:00:00Z'), d('2025-01-01T00:00:00Z'))).toMatch(/after/);
    expect(usageWindowProblem(d('2025-01-02T00:00:00Z'), d('2025-01-01T00:00:00Z'))).toMatch(/after/);
  });
});

describe('defaultUsageWindow', () => {
  it('is the UTC month so far', () => {
    const now = d('2025-03-15T10:00:00Z');
    expect(defaultUsageWindow(now)).toEqual({ from: d('2025-03-01T00:00:00Z'), to: now });
  });
});

describe('normalizeDimensions', () => {
  it('dedupes and orders day, agent, model, provider', () => {
    expect(normalizeDimensions(['provider', 'day', 'agent', 'day'])).toEqual(['day', 'agent', 'provider']);
    expect(normalizeDimensions([])).toEqual([]);
  });
});
