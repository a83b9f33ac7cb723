import { describe, it, expect } from 'vitest';
import { costUsdMicros } from './prices.ts';

// Table: USD per million tokens (input, output) —
// gpt-4o-mini 0.15/0.6, gpt-4o 2.5/10, gpt-4.1-mini 0.4/1.6, gpt-4.1 2/8.
// $1 = 1,000,000 micro-dollars, so price-per-million × tokens = micro-dollars.
describe('costUsdMicros', () => {
  it('prices gpt-4o-mini input and output', () => {
    expect(costUsdMicros('gpt-4o-mini', 1_000_000, 0)).toBe(150_000n); // $0.15
    expect(costUsdMicros('gpt-4o-mini', 0, 1_000_000)).toBe(600_000n); // $0.60
    expect(costUsdMicros('gpt-4o-mini', 1_000_000, 1_000_000)).toBe(750_000n);
  });

  it('prices each model in the table', () => {
    expect(costUsdMicros('gpt-4o', 1000, 500)).toBe(7_500n); // 2.5*1000 + 10*500
    expect(costUsdMicros('gpt-4.1-mini', 1000, 1000)).toBe(2_000n); // 400 + 1600
    expect(costUsdMicros('gpt-4.1', 2000, 300)).toBe(6_400n); // 4000 + 2400
  });

  it('returns 0n for no tokens of a known model', () => {
    expect(costUsdMicros('gpt-4o', 0, 0)).toBe(0n);
  });

  it('rounds to whole micro-dollars', () => {
    expect(costUsdMicros('gpt-4o-mini', 1234, 567)).toBe(525n); // 185.1 + 340.2 = 525.3
    expect(costUsdMicros('gpt-4o-mini', 3, 0)).toBe(0n); // 0.45
    expect(costUsdMicros('gpt-4o-mini', 4, 0)).toBe(1n); // 0.6
  });

  it('prices dated variants as the base model', () => {
    expect(costUsdMicros('gpt-4o-mini-2024-07-18', 1_000_000, 0)).toBe(150_000n);
    expect(costUsdMicros('gpt-4o-2024-08-06', 1_000_000, 0)).toBe(2_500_000n);
    expect(costUsdMicros('gpt-4.1-mini-2025-04-14', 0, 1_000_000)).toBe(1_600_000n);
    expect(costUsdMicros('gpt-4.1-2025-04-14', 0, 1_000_000)).toBe(8_000_000n);
  });

  it('returns null for unknown models, including non-dated variants of known ones', () => {
    expect(costUsdMicros('claude-3-5-sonnet-20241022', 1000, 1000)).toBeNull();
    expect(costUsdMicros('gpt-4o-mini-tts', 1000, 1000)).toBeNull();
    expect(costUsdMicros('gpt-4o-realtime-preview', 1000, 1000)).toBeNull();
    expect(costUsdMicros('gpt-4.1-nano', 1000, 1000)).toBeNull();
    expect(costUsdMicros('', 1000, 1000)).toBeNull();
  });

  it('returns a bigint', () => {
    expect(typeof costUsdMicros('gpt-4o', 1, 1)).toBe('bigint');
  });
});
