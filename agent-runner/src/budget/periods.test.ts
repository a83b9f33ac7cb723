import { describe, expect, it } from 'vitest';
import { windowEnd, windowStart } from './periods.ts';

describe('budget windows', () => {
  it.each([
    ['2026-03-10T12:34:56.789Z', 'day', '2026-03-10T00:00:00.000Z', '2026-03-11T00:00:00.000Z'],
    ['2026-03-10T00:00:00.000Z', 'day', '2026-03-10T00:00:00.000Z', '2026-03-11T00:00:00.000Z'],
    ['2026-03-10T23:59:59.999Z', 'day', '2026-03-10T00:00:00.000Z', '2026-03-11T00:00:00.000Z'],
    ['2026-12-31T23:59:59.999Z', 'day', '2026-12-31T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
    ['2028-02-28T08:00:00.000Z', 'day', '2028-02-28T00:00:00.000Z', '2028-02-29T00:00:00.000Z'],
    ['2026-03-10T12:00:00.000Z', 'month', '2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z'],
    ['2026-12-31T23:59:59.999Z', 'month', '2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
    ['2028-02-29T12:00:00.000Z', 'month', '2028-02-01T00:00:00.000Z', '2028-03-01T00:00:00.000Z'],
  ] as const)('%s, %s → [%s, %s)', (at, period, start, end) => {
    expect(windowStart(period, new Date(at)).toISOString()).toBe(start);
    expect(windowEnd(period, new Date(at)).toISOString()).toBe(end);
  });

  it('is UTC whatever the offset of the instant as written', () => {
    // 23:30 in New York on March 9th is already March 10th in UTC.
    expect(windowStart('day', new Date('2026-03-09T23:30:00-05:00')).toISOString()).toBe('2026-03-10T00:00:00.000Z');
    expect(windowStart('month', new Date('2026-03-31T22:00:00-05:00')).toISOString()).toBe('2026-04-01T00:00:00.000Z');
  });
});
