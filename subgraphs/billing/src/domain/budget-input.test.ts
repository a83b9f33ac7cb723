import { describe, expect, it } from 'vitest';
import { checkAgentId, parseBudgetLimit } from './budget-input.ts';

describe('parseBudgetLimit', () => {
  it('accepts whole numbers up to the bigint maximum, zero included', () => {
    expect(parseBudgetLimit('0')).toEqual({ ok: true, value: 0n });
    expect(parseBudgetLimit(' 50000000 ')).toEqual({ ok: true, value: 50_000_000n });
    expect(parseBudgetLimit('9223372036854775807')).toEqual({ ok: true, value: 9_223_372_036_854_775_807n });
  });
  it.each(['', '-1', '1.5', '1e6', 'abc', '0x10', '9223372036854775808', '12345678901234567890'])('refuses %j', (raw) => {
    expect(parseBudgetLimit(raw)).toMatchObject({ ok: false, error: { field: 'limit' } });
  });
});

describe('checkAgentId', () => {
  it('allows null (whole tenant) and uuids, refuses anything else', () => {
    expect(checkAgentId(null)).toBeNull();
    expect(checkAgentId('0b6c5a7e-8f1d-4c2b-9a3e-1d2c3b4a5f60')).toBeNull();
    expect(checkAgentId('agent-1')).toMatchObject({ field: 'agentId' });
  });
});
