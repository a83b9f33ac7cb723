import { describe, it, expect } from 'vitest';
import { callCostUsdMicros, costUsdMicros, priceOf } from './prices.ts';

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
    expect(costUsdMicros('claude-2.1', 1000, 1000)).toBeNull();
    expect(costUsdMicros('claude-3-5-sonnet-preview', 1000, 1000)).toBeNull();
    expect(costUsdMicros('gpt-4o-mini-tts', 1000, 1000)).toBeNull();
    expect(costUsdMicros('gpt-4o-realtime-preview', 1000, 1000)).toBeNull();
    expect(costUsdMicros('gpt-4.1-nano', 1000, 1000)).toBeNull();
    expect(costUsdMicros('', 1000, 1000)).toBeNull();
  });

  it('returns a bigint', () => {
    expect(typeof costUsdMicros('gpt-4o', 1, 1)).toBe('bigint');
  });
});

const usage = (inputTokens: number, outputTokens: number, cacheReadTokens = 0, cacheWriteTokens = 0) => ({
  inputTokens,
  outputTokens,
  cacheReadTokens,
  cacheWriteTokens,
});

// Anthropic, USD per million tokens (input / output / cache read / 5-minute cache write):
// claude-3-5-haiku 0.8/4/0.08/1, claude-sonnet-4(-5) and 3.x sonnets 3/15/0.3/3.75,
// claude-haiku-4-5 1/5/0.1/1.25, claude-opus-4(-1) 15/75/1.5/18.75, claude-opus-4-5 5/25/0.5/6.25.
// OpenAI cached input: gpt-4o-mini 0.075, gpt-4o 1.25, gpt-4.1-mini 0.1, gpt-4.1 0.5.
describe('callCostUsdMicros', () => {
  it('prices Anthropic models, their dated snapshots and -latest aliases', () => {
    expect(callCostUsdMicros('anthropic', 'claude-3-5-haiku-latest', usage(1_000_000, 0))).toBe(800_000n);
    expect(callCostUsdMicros('anthropic', 'claude-3-5-haiku-20241022', usage(0, 1_000_000))).toBe(4_000_000n);
    expect(callCostUsdMicros('anthropic', 'claude-sonnet-4-5-20250929', usage(1000, 1000))).toBe(18_000n);
    expect(callCostUsdMicros('anthropic', 'claude-sonnet-4-20250514', usage(1000, 0))).toBe(3_000n);
    expect(callCostUsdMicros('anthropic', 'claude-haiku-4-5', usage(1000, 1000))).toBe(6_000n);
    expect(callCostUsdMicros('anthropic', 'claude-opus-4-1-20250805', usage(1000, 1000))).toBe(90_000n);
    expect(callCostUsdMicros('anthropic', 'claude-opus-4-5-20251101', usage(1000, 1000))).toBe(30_000n);
    expect(callCostUsdMicros('anthropic', 'claude-3-7-sonnet-latest', usage(0, 1000))).toBe(15_000n);
  });

  it('prices cache reads and writes at their own rates; they are part of inputTokens', () => {
    // haiku 3.5: 100 uncached × 0.8 + 2000 read × 0.08 + 500 written × 1 + 50 out × 4.
    expect(callCostUsdMicros('anthropic', 'claude-3-5-haiku-latest', usage(2600, 50, 2000, 500))).toBe(940n);
    // gpt-4o-mini: 400 uncached × 0.15 + 600 cached × 0.075 + 200 × 0.6.
    expect(callCostUsdMicros('openai', 'gpt-4o-mini', usage(1000, 200, 600))).toBe(225n);
    expect(callCostUsdMicros('openai', 'gpt-4o', usage(1_000_000, 0, 1_000_000))).toBe(1_250_000n);
  });

  it('charges nothing for Ollama models, whatever their name', () => {
    expect(callCostUsdMicros('ollama', 'llama3.1:8b', usage(1_000_000, 1_000_000))).toBe(0n);
    expect(callCostUsdMicros('ollama', 'gpt-4o', usage(1000, 1000))).toBe(0n);
  });

  it('does not price a model under the wrong provider', () => {
    expect(callCostUsdMicros('openai', 'claude-3-5-haiku-latest', usage(1000, 1000))).toBeNull();
    expect(callCostUsdMicros('anthropic', 'gpt-4o-mini', usage(1000, 1000))).toBeNull();
    expect(priceOf('anthropic', 'claude-3-5-haiku-latest')).toEqual({ input: 0.8, output: 4, cacheRead: 0.08, cacheWrite: 1 });
  });

  it('infers Anthropic from a claude- name in the legacy helper', () => {
    expect(costUsdMicros('claude-3-5-haiku-20241022', 1000, 1000)).toBe(4_800n);
  });
});
