import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { periodStart } from '../src/domain/periods.ts';
import { as, codes, insertUsage, startBillingHarness, type BillingHarness } from './harness.ts';

const USAGE = `query($filter: UsageFilter!, $groupBy: [UsageDimension!]!) { usage(filter: $filter, groupBy: $groupBy) {
  day agentId model provider calls inputTokens outputTokens cacheReadTokens cacheWriteTokens costUsdMicros costUsd } }`;
const AGENT_USAGE = `query($r: [_Any!]!, $from: DateTime, $to: DateTime) { _entities(representations: $r) {
  ... on Agent { id usage(from: $from, to: $to) { from to calls inputTokens outputTokens costUsdMicros costUsd } } } }`;

const FROM = '2025-03-01T00:00:00.000Z';
const TO = '2025-03-04T00:00:00.000Z';

let h: BillingHarness;
let A: string;
let B: string;
let a1: string;
let a2: string;
let b1: string;

beforeAll(async () => {
  h = await startBillingHarness();
  A = await h.tenant('A');
  B = await h.tenant('B');
  a1 = await h.agent(A, 'a1');
  a2 = await h.agent(A, 'a2');
  b1 = await h.agent(B, 'b1');
  const gpt = { provider: 'openai', model: 'gpt-4o-mini' } as const;
  const claude = { provider: 'anthropic', model: 'claude-sonnet' } as const;
  await insertUsage(h.owner, [
    // Tenant A, inside [FROM, TO): both day boundaries are exercised.
    { tenantId: A, agentId: a1, ...gpt, inputTokens: 100, outputTokens: 10, cacheReadTokens: 5, cacheWriteTokens: 1, costUsdMicros: 1000, at: FROM },
    { tenantId: A, agentId: a1, ...gpt, inputTokens: 200, outputTokens: 20, costUsdMicros: 2000, at: '2025-03-01T23:59:59.999Z' },
    { tenantId: A, agentId: a2, ...claude, inputTokens: 300, outputTokens: 30, cacheReadTokens: 7, cacheWriteTokens: 3, costUsdMicros: 3000, at: '2025-03-02T00:00:00.000Z' },
    // 07:30 on the 1st in New York is the 2nd in UTC.
    { tenantId: A, agentId: a1, ...claude, inputTokens: 400, outputTokens: 40, costUsdMicros: 4000, at: '2025-03-01T23:30:00.000-05:00' },
    { tenantId: A, agentId: a2, ...gpt, inputTokens: 500, outputTokens: 50, costUsdMicros: 5000, at: '2025-03-03T23:00:00.000Z' },
    // Tenant A, outside the window (just before FROM, exactly at TO).
    { tenantId: A, agentId: a1, ...gpt, inputTokens: 10_000, outputTokens: 1, costUsdMicros: 1_000_000, at: '2025-02-28T23:59:59.999Z' },
    { tenantId: A, agentId: a1, ...gpt, inputTokens: 20_000, outputTokens: 2, costUsdMicros: 2_000_000, at: TO },
    // Tenant B, inside the window: must never show up for A.
    { tenantId: B, agentId: b1, ...gpt, inputTokens: 7777, outputTokens: 777, costUsdMicros: 777_777, at: '2025-03-01T10:00:00Z' },
    { tenantId: B, agentId: b1, provider: 'openai', model: 'b-only-model', inputTokens: 8888, outputTokens: 888, costUsdMicros: 888_888, at: '2025-03-02T10:00:00Z' },
  ]);
});
afterAll(async () => {
  await h?.close();
});

async function usage(tenantId: string, filter: Record<string, unknown>, groupBy: string[], viewer = true) {
  const res = await h.call(USAGE, { filter: { from: FROM, to: TO, ...filter }, groupBy }, viewer ? as.viewer(tenantId) : as.admin(tenantId));
  expect(res.errors).toBeUndefined();
  return res.data.usage as Record<string, unknown>[];
}

const bucket = (b: Partial<Record<string, unknown>>) => ({
  day: null,
  agentId: null,
  model: null,
  provider: null,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  ...b,
  costUsd: Number(b.costUsdMicros) / 1e6,
});
const byAgent = (rows: Record<string, unknown>[]) => [...rows].sort((x, y) => String(x.agentId).localeCompare(String(y.agentId)));

describe('usage aggregates', () => {
  it('sums by UTC day', async () => {
    expect(await usage(A, {}, ['DAY'])).toEqual([
      bucket({ day: '2025-03-01', calls: 2, inputTokens: 300, outputTokens: 30, cacheReadTokens: 5, cacheWriteTokens: 1, costUsdMicros: '3000' }),
      bucket({ day: '2025-03-02', calls: 2, inputTokens: 700, outputTokens: 70, cacheReadTokens: 7, cacheWriteTokens: 3, costUsdMicros: '7000' }),
      bucket({ day: '2025-03-03', calls: 1, inputTokens: 500, outputTokens: 50, costUsdMicros: '5000' }),
    ]);
  });

  it('sums by agent', async () => {
    expect(byAgent(await usage(A, {}, ['AGENT']))).toEqual(
      byAgent([
        bucket({ agentId: a1, calls: 3, inputTokens: 700, outputTokens: 70, cacheReadTokens: 5, cacheWriteTokens: 1, costUsdMicros: '7000' }),
        bucket({ agentId: a2, calls: 2, inputTokens: 800, outputTokens: 80, cacheReadTokens: 7, cacheWriteTokens: 3, costUsdMicros: '8000' }),
      ]),
    );
  });

  it('sums by model and by provider', async () => {
    expect(await usage(A, {}, ['MODEL'])).toEqual([
      bucket({ model: 'claude-sonnet', calls: 2, inputTokens: 700, outputTokens: 70, cacheReadTokens: 7, cacheWriteTokens: 3, costUsdMicros: '7000' }),
      bucket({ model: 'gpt-4o-mini', calls: 3, inputTokens: 800, outputTokens: 80, cacheReadTokens: 5, cacheWriteTokens: 1, costUsdMicros: '8000' }),
    ]);
    expect(await usage(A, {}, ['PROVIDER'])).toEqual([
      bucket({ provider: 'ANTHROPIC', calls: 2, inputTokens: 700, outputTokens: 70, cacheReadTokens: 7, cacheWriteTokens: 3, costUsdMicros: '7000' }),
      bucket({ provider: 'OPENAI', calls: 3, inputTokens: 800, outputTokens: 80, cacheReadTokens: 5, cacheWriteTokens: 1, costUsdMicros: '8000' }),
    ]);
  });

  it('sums by several dimensions, in a fixed order whatever the order asked', async () => {
    const rows = await usage(A, {}, ['AGENT', 'DAY', 'DAY']);
    const expected = [
      bucket({ day: '2025-03-01', agentId: a1, calls: 2, inputTokens: 300, outputTokens: 30, cacheReadTokens: 5, cacheWriteTokens: 1, costUsdMicros: '3000' }),
      bucket({ day: '2025-03-02', agentId: a1, calls: 1, inputTokens: 400, outputTokens: 40, costUsdMicros: '4000' }),
      bucket({ day: '2025-03-02', agentId: a2, calls: 1, inputTokens: 300, outputTokens: 30, cacheReadTokens: 7, cacheWriteTokens: 3, costUsdMicros: '3000' }),
      bucket({ day: '2025-03-03', agentId: a2, calls: 1, inputTokens: 500, outputTokens: 50, costUsdMicros: '5000' }),
    ];
    const key = (r: Record<string, unknown>) => `${r.day}|${r.agentId}`;
    expect([...rows].sort((x, y) => key(x).localeCompare(key(y)))).toEqual([...expected].sort((x, y) => key(x).localeCompare(key(y))));
    expect(rows.map((r) => r.day)).toEqual([...rows.map((r) => r.day)].sort()); // day first
  });

  it('totals with no grouping, and filters by agent and model', async () => {
    expect(await usage(A, {}, [])).toEqual([
      bucket({ calls: 5, inputTokens: 1500, outputTokens: 150, cacheReadTokens: 12, cacheWriteTokens: 4, costUsdMicros: '15000' }),
    ]);
    expect(await usage(A, { agentId: a2 }, ['DAY'])).toEqual([
      bucket({ day: '2025-03-02', calls: 1, inputTokens: 300, outputTokens: 30, cacheReadTokens: 7, cacheWriteTokens: 3, costUsdMicros: '3000' }),
      bucket({ day: '2025-03-03', calls: 1, inputTokens: 500, outputTokens: 50, costUsdMicros: '5000' }),
    ]);
    expect(byAgent(await usage(A, { model: 'gpt-4o-mini' }, ['AGENT']))).toEqual(
      byAgent([
        bucket({ agentId: a1, calls: 2, inputTokens: 300, outputTokens: 30, cacheReadTokens: 5, cacheWriteTokens: 1, costUsdMicros: '3000' }),
        bucket({ agentId: a2, calls: 1, inputTokens: 500, outputTokens: 50, costUsdMicros: '5000' }),
      ]),
    );
  });

  it("never counts tenant B's rows for tenant A, even when A names B's agent or model", async () => {
    const everything = await usage(A, {}, ['DAY', 'AGENT', 'MODEL', 'PROVIDER']);
    expect(everything.map((r) => r.agentId)).not.toContain(b1);
    expect(everything.map((r) => r.model)).not.toContain('b-only-model');
    expect(everything.reduce((s, r) => s + (r.calls as number), 0)).toBe(5);
    expect(await usage(A, { agentId: b1 }, ['AGENT'])).toEqual([]);
    expect(await usage(A, { model: 'b-only-model' }, ['MODEL'])).toEqual([]);
    expect(await usage(A, { model: 'b-only-model' }, [])).toEqual([bucket({ calls: 0, inputTokens: 0, outputTokens: 0, costUsdMicros: '0' })]);
    // And B sees exactly its own.
    expect(await usage(B, {}, ['MODEL'])).toEqual([
      bucket({ model: 'b-only-model', calls: 1, inputTokens: 8888, outputTokens: 888, costUsdMicros: '888888' }),
      bucket({ model: 'gpt-4o-mini', calls: 1, inputTokens: 7777, outputTokens: 777, costUsdMicros: '777777' }),
    ]);
  });

  it('keeps cost sums exact beyond 2^63', async () => {
    const C = await h.tenant('C');
    const c1 = await h.agent(C);
    const big = 2n ** 62n;
    await insertUsage(h.owner, [
      { tenantId: C, agentId: c1, inputTokens: 2_000_000_000, costUsdMicros: big, at: '2025-03-01T01:00:00Z' },
      { tenantId: C, agentId: c1, inputTokens: 2_000_000_000, costUsdMicros: big, at: '2025-03-01T02:00:00Z' },
    ]);
    const [total] = await usage(C, {}, []);
    expect(total).toMatchObject({ calls: 2, inputTokens: 4_000_000_000, costUsdMicros: (2n * big).toString() });
  });

  it('refuses windows that are empty, reversed or longer than 366 days (BAD_USER_INPUT)', async () => {
    const call = (filter: Record<string, unknown>) => h.call(USAGE, { filter, groupBy: ['DAY'] }, as.viewer(A));
    expect(codes(await call({ from: FROM, to: FROM }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await call({ from: TO, to: FROM }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await call({ from: '2024-01-01T00:00:00Z', to: '2025-01-02T00:00:00.001Z' }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await call({ from: FROM, to: TO, agentId: 'agent-1' }))).toEqual(['BAD_USER_INPUT']);
    const ok = await call({ from: '2024-03-03T00:00:00Z', to: '2025-03-04T00:00:00Z' }); // exactly 366 days
    expect(ok.errors).toBeUndefined();
    expect(ok.data.usage.map((b: { day: string }) => b.day)).toEqual(['2025-02-28', '2025-03-01', '2025-03-02', '2025-03-03']);
  });

  it('Agent.usage sums one agent over [from, to), zero for an agent of another tenant', async () => {
    const res = await h.call(
      AGENT_USAGE,
      { r: [{ __typename: 'Agent', id: a1 }, { __typename: 'Agent', id: b1 }], from: FROM, to: TO },
      as.viewer(A),
    );
    expect(res.errors).toBeUndefined();
    expect(res.data._entities).toEqual([
      { id: a1, usage: { from: FROM, to: TO, calls: 3, inputTokens: 700, outputTokens: 70, costUsdMicros: '7000', costUsd: 0.007 } },
      { id: b1, usage: { from: FROM, to: TO, calls: 0, inputTokens: 0, outputTokens: 0, costUsdMicros: '0', costUsd: 0 } },
    ]);
  });

  it('Agent.usage defaults to the current UTC month so far', async () => {
    const D = await h.tenant('D');
    const d1 = await h.agent(D);
    const monthStart = periodStart('month', new Date());
    await insertUsage(h.owner, [
      { tenantId: D, agentId: d1, inputTokens: 11, outputTokens: 1, costUsdMicros: 10, at: monthStart },
      { tenantId: D, agentId: d1, inputTokens: 1000, costUsdMicros: 1000, at: new Date(monthStart.getTime() - 1) },
      { tenantId: D, agentId: d1, inputTokens: 2000, costUsdMicros: 2000, at: new Date(Date.now() + 3_600_000) },
    ]);
    const res = await h.call(AGENT_USAGE, { r: [{ __typename: 'Agent', id: d1 }] }, as.viewer(D));
    expect(res.errors).toBeUndefined();
    const u = res.data._entities[0].usage;
    expect(u).toMatchObject({ from: monthStart.toISOString(), calls: 1, inputTokens: 11, outputTokens: 1, costUsdMicros: '10' });
    expect(Date.parse(u.to)).toBeLessThanOrEqual(Date.now());
  });
});
