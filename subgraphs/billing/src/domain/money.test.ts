import { describe, expect, it } from 'vitest';
import { centsToUsd, microsToUsd } from './money.ts';

describe('money', () => {
  it('converts micro-dollars to USD', () => {
    expect(microsToUsd(0n)).toBe(0);
    expect(microsToUsd('1')).toBe(0.000001);
    expect(microsToUsd(1_500_000)).toBe(1.5);
    expect(microsToUsd('123456789012')).toBe(123456.789012);
  });
  it('keeps the whole-dollar part exact for amounts beyond 2^53 micros', () => {
    const usd = microsToUsd(2n ** 63n);
    expect(Math.floor(usd)).toBe(9_223_372_036_854);
    expect(usd - 9_223_372_036_854).toBeCloseTo(0.775808, 3);
  });
  it('converts cents', () => {
    expect(centsToUsd(4900)).toBe(49);
  });
});
