import { describe, expect, it } from 'vitest';
import { periodStart } from './periods.ts';

describe('periodStart', () => {
  it('is midnight UTC of the day', () => {
    expect(periodStart('day', new Date('2025-03-01T23:59:59.999Z')).toISOString()).toBe('2025-03-01T00:00:00.000Z');
    expect(periodStart('day', new Date('2025-03-01T23:30:00-05:00')).toISOString()).toBe('2025-03-02T00:00:00.000Z');
  });
  it('is the first of the month, UTC, across year ends and leap days', () => {
    expect(periodStart('month', new Date('2024-02-29T12:00:00Z')).toISOString()).toBe('2024-02-01T00:00:00.000Z');
    expect(periodStart('month', new Date('2024-12-31T23:59:59.999Z')).toISOString()).toBe('2024-12-01T00:00:00.000Z');
    expect(periodStart('month', new Date('2025-01-01T00:00:00Z')).toISOString()).toBe('2025-01-01T00:00:00.000Z');
  });
});
