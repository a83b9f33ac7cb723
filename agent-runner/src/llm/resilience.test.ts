import { describe, expect, it } from 'vitest';
import { backoffMs, sleep } from './backoff.ts';
import { DeploymentCooldown } from './cooldown.ts';
import { classifyStatus, LlmCallError, redact, retryAfterMs } from './errors.ts';

const headers = (h: Record<string, string>) => new Headers(h);

describe('classifyStatus', () => {
  it('maps HTTP statuses to retryable and final classes', () => {
    const cases: [number, string, boolean][] = [
      [400, 'bad_request', false],
      [401, 'auth', false],
      [403, 'auth', false],
      [404, 'not_found', false],
      [408, 'timeout', true],
      [422, 'bad_request', false],
      [429, 'rate_limited', true],
      [500, 'server_error', true],
      [502, 'server_error', true],
      [503, 'overloaded', true],
      [529, 'overloaded', true],
    ];
    for (const [status, cls, retryable] of cases) {
      const e = new LlmCallError(classifyStatus(status), 'x', { status });
      expect([status, e.errorClass, e.retryable]).toEqual([status, cls, retryable]);
    }
  });

  it('counts deployment health failures, not request mistakes, toward cooldown', () => {
    expect(new LlmCallError('bad_request', 'x').countsAgainstDeployment).toBe(false);
    expect(new LlmCallError('aborted', 'x').countsAgainstDeployment).toBe(false);
    expect(new LlmCallError('auth', 'x').countsAgainstDeployment).toBe(true);
    expect(new LlmCallError('timeout', 'x').countsAgainstDeployment).toBe(true);
  });
});

describe('retryAfterMs', () => {
  it('reads retry-after-ms, seconds and HTTP dates', () => {
    expect(retryAfterMs(headers({ 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(250);
    expect(retryAfterMs(headers({ 'retry-after': '2' }))).toBe(2000);
    expect(retryAfterMs(headers({ 'retry-after': '0.5' }))).toBe(500);
    const now = Date.parse('2026-11-27T10:00:00Z');
    expect(retryAfterMs(headers({ 'retry-after': 'Fri, 27 Nov 2026 10:00:03 GMT' }), now)).toBe(3000);
    expect(retryAfterMs(headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(retryAfterMs(headers({}))).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});

describe('redact', () => {
  it('replaces every occurrence of the key with its last four characters', () => {
    expect(redact('Incorrect API key provided: sk-abcdef123456. sk-abcdef123456!', 'sk-abcdef123456')).toBe(
      'Incorrect API key provided: …3456. …3456!',
    );
    expect(redact('nothing here', undefined)).toBe('nothing here');
  });
});

describe('backoffMs', () => {
  const opts = { baseDelayMs: 100, maxDelayMs: 1000 };
  it('doubles per retry within [half, full] of the ceiling, capped', () => {
    expect(backoffMs(1, opts, () => 0)).toBe(50);
    expect(backoffMs(1, opts, () => 1)).toBe(100);
    expect(backoffMs(3, opts, () => 0)).toBe(200);
    expect(backoffMs(3, opts, () => 1)).toBe(400);
    expect(backoffMs(10, opts, () => 1)).toBe(1000);
    expect(backoffMs(10, opts, () => 0)).toBe(500);
  });

  it('spreads retries with real randomness', () => {
    const values = new Set(Array.from({ length: 50 }, () => backoffMs(2, opts)));
    expect(values.size).toBeGreaterThan(10);
    for (const v of values) expect(v).toBeGreaterThanOrEqual(100);
  });
});

describe('sleep', () => {
  it('rejects as soon as the signal aborts', async () => {
    const ac = new AbortController();
    const t0 = performance.now();
    setTimeout(() => ac.abort(new Error('stop')), 20);
    await expect(sleep(5_000, ac.signal)).rejects.toThrow('stop');
    expect(performance.now() - t0).toBeLessThan(1_000);
  });
});

describe('DeploymentCooldown', () => {
  it('trips after N consecutive failures for T, keeps keys apart, and resets on success', () => {
    let now = 0;
    const c = new DeploymentCooldown({ failureThreshold: 3, cooldownMs: 1000, now: () => now });
    expect(c.recordFailure('a')).toBe(false);
    expect(c.recordFailure('a')).toBe(false);
    expect(c.recordFailure('b')).toBe(false);
    expect(c.recordFailure('a')).toBe(true);
    expect(c.remainingMs('a')).toBe(1000);
    expect(c.remainingMs('b')).toBe(0);
    now = 999;
    expect(c.remainingMs('a')).toBe(1);
    now = 1000;
    expect(c.remainingMs('a')).toBe(0);
    // Half-open: the next failure trips it again at once.
    expect(c.recordFailure('a')).toBe(true);
    c.recordSuccess('a');
    expect(c.remainingMs('a')).toBe(0);
    expect(c.recordFailure('a')).toBe(false);
  });
});
