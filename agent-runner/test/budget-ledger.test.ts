import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, tenantEventsChannel, TenantEvent } from '@konstruct/core';
import { tenantScope, type Db, type TenantScope } from '@konstruct/db';
import { appDb } from '../../test/support/db.ts';
import { eventually } from '../../test/support/eventually.ts';
import { as, insertUsage, startBillingHarness, type BillingHarness } from '../../subgraphs/billing/test/harness.ts';
import { BudgetLedger, windowStart, type Reservation, type ReserveResult, type SettledCall } from '../src/budget/index.ts';
import { createEventPublisher } from '../src/events.ts';

/**
 * The budget ledger against the real (embedded) database, with budgets created through the
 * billing subgraph's own setBudget mutation, so both sides agree on rows and windows.
 */

const SET = `mutation($input: SetBudgetInput!) { setBudget(input: $input) { __typename ... on Budget { id } ... on ValidationError { message } } }`;
const LIST = `query { budgets { id agentId period unit limit currentWindow { windowStart spent reserved } } }`;

const logger = createLogger('budget-test', 'silent');
let h: BillingHarness;
let db: Db;

beforeAll(async () => {
  h = await startBillingHarness();
  db = appDb(4);
});
afterAll(async () => {
  await db?.close();
  await h?.close();
});

type Period = 'DAY' | 'MONTH';
type Unit = 'TOKENS' | 'USD_MICROS';

/**
 * Through the billing API. The tests run the ledger on made-up dates in 2026, so the budget is
 * dated before all of them (`asOf`), else a window would start from the usage recorded before
 * the budget existed (which has its own test, on the real clock).
 */
async function setBudget(
  tenantId: string,
  agentId: string | null,
  period: Period,
  unit: Unit,
  limit: number | bigint,
  asOf: Date | 'now' = new Date('2026-01-01T00:00:00Z'),
): Promise<string> {
  const res = await h.call(SET, { input: { agentId, period, unit, limit: String(limit) } }, as.admin(tenantId));
  expect(res.errors).toBeUndefined();
  expect(res.data.setBudget.__typename).toBe('Budget');
  const id: string = res.data.setBudget.id;
  if (asOf !== 'now') await h.owner.query('UPDATE budgets SET created_at = $2 WHERE id = $1', [id, asOf]);
  return id;
}

/** A tenant with two agents (the `other` one is there to prove it is left alone). */
async function world(name = 'Budgets') {
  const tenantId = await h.tenant(name);
  return { tenantId, scope: tenantScope(tenantId), agent: await h.agent(tenantId, 'Ava'), other: await h.agent(tenantId, 'Bo') };
}

/** A controllable clock. */
function clock(iso: string) {
  let t = new Date(iso);
  return {
    now: () => t,
    set: (next: string) => {
      t = new Date(next);
    },
    advance: (ms: number) => {
      t = new Date(t.getTime() + ms);
    },
  };
}

const call = (inputTokens: number, outputTokens: number, costUsdMicros: bigint | null, model = 'gpt-4o-mini'): SettledCall => ({
  provider: 'openai',
  model,
  usage: { inputTokens, outputTokens, cacheReadTokens: 0, cacheWriteTokens: 0 },
  latencyMs: 42,
  costUsdMicros,
});

const est = (tokens: number, usdMicros: bigint | number = 0n) => ({ tokens, usdMicros: BigInt(usdMicros) });

function admitted(r: ReserveResult): Reservation {
  if (!r.ok) throw new Error(`expected the reservation to be admitted, got ${JSON.stringify(r.exhausted, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
  return r.reservation;
}

async function windows(budgetId: string) {
  const { rows } = await h.owner.query<{ window_start: Date; spent: string; reserved: string }>(
    'SELECT window_start, spent::text, reserved::text FROM budget_windows WHERE budget_id = $1 ORDER BY window_start',
    [budgetId],
  );
  return rows.map((r) => ({ windowStart: r.window_start.toISOString(), spent: Number(r.spent), reserved: Number(r.reserved) }));
}

async function window(budgetId: string, at: Date, period: 'day' | 'month') {
  const start = windowStart(period, at).toISOString();
  return (await windows(budgetId)).find((w) => w.windowStart === start) ?? null;
}

async function holds(reservationId: string) {
  const { rows } = await h.owner.query<{ budget_id: string; amount: string; expired: boolean }>(
    'SELECT budget_id::text, amount::text, expired_at IS NOT NULL AS expired FROM budget_reservations WHERE id = $1 ORDER BY budget_id',
    [reservationId],
  );
  return rows.map((r) => ({ budgetId: r.budget_id, amount: Number(r.amount), expired: r.expired }));
}

describe('reserve, settle, release', () => {
  it('holds the estimate in every budget that applies, moves the actual usage to spent on settle, and gives it back on release', async () => {
    const w = await world();
    const c = clock('2026-03-10T12:00:00.000Z');
    const ledger = new BudgetLedger({ db, logger, now: c.now });
    const tenantTokens = await setBudget(w.tenantId, null, 'DAY', 'TOKENS', 100_000);
    const agentUsd = await setBudget(w.tenantId, w.agent, 'MONTH', 'USD_MICROS', 1_000_000);
    const otherTokens = await setBudget(w.tenantId, w.other, 'DAY', 'TOKENS', 10);

    const r1 = admitted(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(500, 300) }));
    expect(r1.holds.map((x) => [x.budgetId, x.scope, x.period, x.unit, x.amount, x.crossing]).sort()).toEqual(
      [
        [tenantTokens, 'tenant', 'day', 'tokens', 500n, false],
        [agentUsd, 'agent', 'month', 'usd_micros', 300n, false],
      ].sort(),
    );
    expect(await window(tenantTokens, c.now(), 'day')).toMatchObject({ spent: 0, reserved: 500 });
    expect(await window(agentUsd, c.now(), 'month')).toMatchObject({ spent: 0, reserved: 300 });
    // The other agent's budget is not touched (not even a window row).
    expect(await windows(otherTokens)).toEqual([]);

    // The call used more than estimated: the actual is charged in full.
    const s1 = await ledger.settle(w.scope, r1, call(600, 100, 450n));
    expect(s1).toEqual({ settled: true, charged: 2, actual: { tokens: 700, usdMicros: 450n } });
    expect(await window(tenantTokens, c.now(), 'day')).toMatchObject({ spent: 700, reserved: 0 });
    expect(await window(agentUsd, c.now(), 'month')).toMatchObject({ spent: 450, reserved: 0 });
    expect(await holds(r1.id)).toEqual([]);
    const usage = await h.owner.query(
      `SELECT tenant_id::text, agent_id::text, provider::text, model, input_tokens, output_tokens, cost_usd_micros::text, latency_ms, created_at
         FROM usage_records WHERE id = $1`,
      [r1.id],
    );
    expect(usage.rows).toEqual([
      {
        tenant_id: w.tenantId, agent_id: w.agent, provider: 'openai', model: 'gpt-4o-mini',
        input_tokens: 600, output_tokens: 100, cost_usd_micros: '450', latency_ms: 42, created_at: c.now(),
      },
    ]);

    // Settling again changes nothing.
    expect(await ledger.settle(w.scope, r1, call(600, 100, 450n))).toMatchObject({ settled: false, charged: 0 });
    expect(await window(tenantTokens, c.now(), 'day')).toMatchObject({ spent: 700, reserved: 0 });
    expect((await h.owner.query('SELECT count(*)::int AS n FROM usage_records WHERE agent_id = $1', [w.agent])).rows).toEqual([{ n: 1 }]);

    // A call that did not happen: released, nothing spent, no usage row.
    const r2 = admitted(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(2_000, 900) }));
    expect(await window(tenantTokens, c.now(), 'day')).toMatchObject({ spent: 700, reserved: 2_000 });
    expect(await window(agentUsd, c.now(), 'month')).toMatchObject({ spent: 450, reserved: 900 });
    expect(await ledger.release(w.scope, r2)).toBe(2);
    expect(await ledger.release(w.scope, r2)).toBe(0);
    expect(await window(tenantTokens, c.now(), 'day')).toMatchObject({ spent: 700, reserved: 0 });
    expect(await window(agentUsd, c.now(), 'month')).toMatchObject({ spent: 450, reserved: 0 });
    expect((await h.owner.query('SELECT count(*)::int AS n FROM usage_records WHERE id = $1', [r2.id])).rows).toEqual([{ n: 0 }]);

    // A released reservation that is settled anyway: usage is recorded, no budget is charged.
    expect(await ledger.settle(w.scope, r2, call(10, 10, 1n))).toMatchObject({ settled: true, charged: 0 });
    expect(await window(tenantTokens, c.now(), 'day')).toMatchObject({ spent: 700, reserved: 0 });
  });

  it('without budgets a reservation is empty and settle still records the usage', async () => {
    const w = await world();
    const ledger = new BudgetLedger({ db, logger });
    const r = admitted(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(1_000_000, 1_000_000) }));
    expect(r.holds).toEqual([]);
    expect(await ledger.release(w.scope, r)).toBe(0);
    const r2 = admitted(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(10) }));
    expect(await ledger.settle(w.scope, r2, call(5, 5, 3n))).toMatchObject({ settled: true, charged: 0 });
    expect((await h.owner.query('SELECT input_tokens FROM usage_records WHERE id = $1', [r2.id])).rows).toEqual([{ input_tokens: 5 }]);
  });

  it('refuses once spent + reserved reaches the limit; the call that crosses it may overshoot by itself only', async () => {
    const w = await world();
    const ledger = new BudgetLedger({ db, logger, now: () => new Date('2026-05-05T05:00:00Z') });
    const b = await setBudget(w.tenantId, w.agent, 'DAY', 'TOKENS', 1_000);
    const a = admitted(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(600) }));
    // 400 left, 600 asked: admitted as the crossing call, and its hold covers the rest.
    const crossing = admitted(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(600) }));
    expect(crossing.holds[0]).toMatchObject({ crossing: true, amount: 600n });
    const refused = await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(1) });
    expect(refused).toEqual({
      ok: false,
      exhausted: {
        budgetId: b, scope: 'agent', period: 'day', unit: 'tokens', limit: 1_000n, spent: 0n, reserved: 1_200n,
        windowStart: new Date('2026-05-05T00:00:00Z'), resetsAt: new Date('2026-05-06T00:00:00Z'), reason: 'no_room', requested: 1n,
      },
    });
    // `a` used less than it held: room opens up again after it settles.
    await ledger.settle(w.scope, a, call(150, 50, null));
    expect(await windows(b)).toEqual([{ windowStart: '2026-05-05T00:00:00.000Z', spent: 200, reserved: 600 }]);
    const small = admitted(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(100) }));
    await ledger.settle(w.scope, crossing, call(500, 250, null));
    await ledger.settle(w.scope, small, call(80, 20, null));
    expect(await windows(b)).toEqual([{ windowStart: '2026-05-05T00:00:00.000Z', spent: 1_050, reserved: 0 }]);
    expect((await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(1) })).ok).toBe(false);
  });

  it('requireFit refuses a call that does not fit the room left (does_not_fit) instead of letting it cross', async () => {
    const w = await world();
    const ledger = new BudgetLedger({ db, logger, now: () => new Date('2026-05-05T05:00:00Z') });
    const b = await setBudget(w.tenantId, w.agent, 'MONTH', 'USD_MICROS', 1_000);
    admitted(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(1, 700) }));
    const r = await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(1, 500), requireFit: true });
    expect(r).toMatchObject({ ok: false, exhausted: { budgetId: b, reason: 'does_not_fit', spent: 0n, reserved: 700n, requested: 500n } });
    // A cheaper call fits.
    admitted(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(1, 300), requireFit: true }));
    expect(await windows(b)).toEqual([{ windowStart: '2026-05-01T00:00:00.000Z', spent: 0, reserved: 1_000 }]);
  });
});

describe('windows', () => {
  it('roll over at midnight UTC and on the first of the month; a call is charged to the windows it was reserved in', async () => {
    const w = await world();
    const c = clock('2026-03-31T23:58:00.000Z');
    const ledger = new BudgetLedger({ db, logger, now: c.now });
    const day = await setBudget(w.tenantId, w.agent, 'DAY', 'TOKENS', 1_000);
    const month = await setBudget(w.tenantId, w.agent, 'MONTH', 'TOKENS', 5_000);

    await ledger.settle(w.scope, admitted(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(900) })), call(800, 100, null));
    c.advance(30_000);
    const late = admitted(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(500) }));
    c.advance(20_000); // 23:58:50
    const refused = await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(10) });
    expect(refused).toMatchObject({ ok: false, exhausted: { budgetId: day, period: 'day', resetsAt: new Date('2026-04-01T00:00:00Z') } });

    // The late call finishes after midnight: still charged to March 31 and to March.
    c.set('2026-04-01T00:00:05.000Z');
    await ledger.settle(w.scope, late, call(300, 200, null));
    expect(await windows(day)).toEqual([{ windowStart: '2026-03-31T00:00:00.000Z', spent: 1_400, reserved: 0 }]);
    expect(await windows(month)).toEqual([{ windowStart: '2026-03-01T00:00:00.000Z', spent: 1_400, reserved: 0 }]);

    // April 1st: fresh windows for both.
    const april = admitted(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(700) }));
    expect(april.holds.map((x) => x.windowStart.toISOString()).sort()).toEqual(['2026-04-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z']);
    await ledger.settle(w.scope, april, call(600, 50, null));
    expect(await windows(day)).toEqual([
      { windowStart: '2026-03-31T00:00:00.000Z', spent: 1_400, reserved: 0 },
      { windowStart: '2026-04-01T00:00:00.000Z', spent: 650, reserved: 0 },
    ]);
    expect(await windows(month)).toEqual([
      { windowStart: '2026-03-01T00:00:00.000Z', spent: 1_400, reserved: 0 },
      { windowStart: '2026-04-01T00:00:00.000Z', spent: 650, reserved: 0 },
    ]);

    // April 2nd: the day budget starts over, the month budget carries on.
    c.set('2026-04-02T09:00:00.000Z');
    await ledger.settle(w.scope, admitted(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(100) })), call(90, 10, null));
    expect(await window(day, c.now(), 'day')).toMatchObject({ spent: 100 });
    expect(await window(month, c.now(), 'month')).toMatchObject({ windowStart: '2026-04-01T00:00:00.000Z', spent: 750 });
  });

  it('a budget created during a window starts from the usage already recorded in it', async () => {
    const w = await world();
    const now = new Date();
    const earlier = new Date(Math.max(windowStart('month', now).getTime(), now.getTime() - 60_000));
    await insertUsage(h.owner, [
      { tenantId: w.tenantId, agentId: w.agent, inputTokens: 700, outputTokens: 100, costUsdMicros: 5_000, at: earlier },
      { tenantId: w.tenantId, agentId: w.other, inputTokens: 40, outputTokens: 10, costUsdMicros: 7, at: earlier },
      // Last month: not part of this window.
      { tenantId: w.tenantId, agentId: w.agent, inputTokens: 9_999, outputTokens: 0, costUsdMicros: 9_999, at: new Date(windowStart('month', now).getTime() - 1) },
    ]);
    const agentTokens = await setBudget(w.tenantId, w.agent, 'MONTH', 'TOKENS', 1_000, 'now');
    const tenantUsd = await setBudget(w.tenantId, null, 'MONTH', 'USD_MICROS', 10_000, 'now');
    // Recorded after the budgets existed without going through them: not counted.
    await insertUsage(h.owner, [{ tenantId: w.tenantId, agentId: w.agent, inputTokens: 50, outputTokens: 0, costUsdMicros: 50, at: new Date(Date.now() + 1_000) }]);
    const ledger = new BudgetLedger({ db, logger });
    const r = await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(100, 10) });
    expect(r.ok).toBe(true);
    expect(await window(agentTokens, now, 'month')).toMatchObject({ spent: 800, reserved: 100 });
    expect(await window(tenantUsd, now, 'month')).toMatchObject({ spent: 5_007, reserved: 10 });
    // 800 + 100 held: the next one crosses, the one after is refused.
    admitted(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(150, 10) }));
    expect(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(1, 1) })).toMatchObject({ ok: false, exhausted: { budgetId: agentTokens } });
  });

  it('the billing subgraph shows what the ledger holds and has spent in the current window', async () => {
    const w = await world();
    const ledger = new BudgetLedger({ db, logger });
    const b = await setBudget(w.tenantId, w.agent, 'DAY', 'USD_MICROS', 50_000);
    const r = admitted(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(10, 1_234) }));
    const list = async () => {
      const res = await h.call(LIST, {}, as.admin(w.tenantId));
      expect(res.errors).toBeUndefined();
      return res.data.budgets.find((x: { id: string }) => x.id === b).currentWindow;
    };
    expect(await list()).toEqual({ windowStart: windowStart('day', new Date()).toISOString(), spent: '0', reserved: '1234' });
    await ledger.settle(w.scope, r, call(10, 10, 999n));
    expect(await list()).toMatchObject({ spent: '999', reserved: '0' });
  });
});

describe('scopes and units', () => {
  it("enforces the tenant's budget and the agent's at once: either one refuses", async () => {
    const w = await world();
    const ledger = new BudgetLedger({ db, logger, now: () => new Date('2026-06-01T10:00:00Z') });
    const tenant = await setBudget(w.tenantId, null, 'DAY', 'TOKENS', 1_000);
    const agent = await setBudget(w.tenantId, w.agent, 'DAY', 'TOKENS', 600);
    const spend = async (agentId: string, tokens: number) =>
      ledger.settle(w.scope, admitted(await ledger.reserve(w.scope, { agentId, estimate: est(tokens) })), call(tokens, 0, null));

    await spend(w.agent, 600);
    expect(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(1) })).toMatchObject({
      ok: false, exhausted: { budgetId: agent, scope: 'agent', spent: 600n, limit: 600n },
    });
    // The other agent has no budget of its own, only the tenant's 400 left.
    await spend(w.other, 400);
    expect(await ledger.reserve(w.scope, { agentId: w.other, estimate: est(1) })).toMatchObject({
      ok: false, exhausted: { budgetId: tenant, scope: 'tenant', spent: 1_000n, limit: 1_000n },
    });
    // Both refuse the first agent now; the agent's own budget is the one reported.
    expect(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(1) })).toMatchObject({ ok: false, exhausted: { budgetId: agent } });
    // A refused reservation holds nothing anywhere.
    expect(await windows(tenant)).toEqual([{ windowStart: '2026-06-01T00:00:00.000Z', spent: 1_000, reserved: 0 }]);
  });

  it('charges tokens budgets in input + output tokens and money budgets in micro-dollars; a free model passes a spent money budget but not a tokens budget', async () => {
    const w = await world();
    const ledger = new BudgetLedger({ db, logger, now: () => new Date('2026-06-01T10:00:00Z') });
    const tokens = await setBudget(w.tenantId, w.agent, 'DAY', 'TOKENS', 2_000);
    const usd = await setBudget(w.tenantId, w.agent, 'DAY', 'USD_MICROS', 1_000);

    const r = admitted(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(800, 900) }));
    await ledger.settle(w.scope, r, { ...call(500, 200, 1_100n), usage: { inputTokens: 500, outputTokens: 200, cacheReadTokens: 300, cacheWriteTokens: 50 } });
    expect(await windows(tokens)).toEqual([{ windowStart: '2026-06-01T00:00:00.000Z', spent: 700, reserved: 0 }]);
    expect(await windows(usd)).toEqual([{ windowStart: '2026-06-01T00:00:00.000Z', spent: 1_100, reserved: 0 }]);
    expect((await h.owner.query('SELECT cache_read_tokens, cache_write_tokens FROM usage_records WHERE id = $1', [r.id])).rows)
      .toEqual([{ cache_read_tokens: 300, cache_write_tokens: 50 }]);

    // Money is used up: a paid call is refused on the money budget, though tokens are left.
    expect(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(100, 1) })).toMatchObject({
      ok: false, exhausted: { budgetId: usd, unit: 'usd_micros', reason: 'no_room', spent: 1_100n },
    });
    // A model that costs nothing still passes the money budget and is charged in tokens.
    const free = admitted(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(1_200, 0) }));
    await ledger.settle(w.scope, free, { ...call(1_000, 400, 0n), provider: 'ollama', model: 'llama3.1' });
    expect(await windows(tokens)).toEqual([{ windowStart: '2026-06-01T00:00:00.000Z', spent: 2_100, reserved: 0 }]);
    expect(await windows(usd)).toEqual([{ windowStart: '2026-06-01T00:00:00.000Z', spent: 1_100, reserved: 0 }]);
    // Tokens are used up too: even the free model is refused now.
    expect(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(10, 0) })).toMatchObject({
      ok: false, exhausted: { budgetId: tokens, unit: 'tokens', reason: 'no_room' },
    });
  });
});

describe('isolation', () => {
  it("tenant A's budgets and holds never affect tenant B, and B cannot see or settle A's", async () => {
    const A = await world('A');
    const B = await world('B');
    const ledger = new BudgetLedger({ db, logger, now: () => new Date('2026-07-01T10:00:00Z') });
    const aBudget = await setBudget(A.tenantId, null, 'DAY', 'TOKENS', 100);
    await setBudget(B.tenantId, null, 'DAY', 'TOKENS', 100);
    const aHeld = admitted(await ledger.reserve(A.scope, { agentId: A.agent, estimate: est(100) }));
    expect((await ledger.reserve(A.scope, { agentId: A.agent, estimate: est(1) })).ok).toBe(false);

    // B is unaffected by A's full budget.
    const b1 = admitted(await ledger.reserve(B.scope, { agentId: B.agent, estimate: est(60) }));
    expect(b1.holds).toHaveLength(1);
    expect(b1.holds[0]!.budgetId).not.toBe(aBudget);
    // Under B's scope, A's agent has no budgets (A's are invisible), and A's holds are not there.
    const cross = admitted(await ledger.reserve(B.scope, { agentId: A.agent, estimate: est(1) }));
    expect(cross.holds.map((x) => x.scope)).toEqual(['tenant']);
    expect(cross.holds[0]!.budgetId).not.toBe(aBudget);
    const seen = await db.withTenant(B.scope, (tx) =>
      tx.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM budget_reservations WHERE id = ${aHeld.id}::uuid`);
    expect(seen).toEqual([{ n: 0 }]);
    // A's reservation cannot be settled or released under B's scope.
    await expect(ledger.settle(B.scope, aHeld, call(1, 1, 1n))).rejects.toThrow('belongs to another tenant');
    await expect(ledger.release(B.scope, aHeld)).rejects.toThrow('belongs to another tenant');
    // A forged reservation with B's tenant id but A's reservation id finds nothing to release.
    expect(await ledger.release(B.scope, { ...aHeld, tenantId: B.tenantId })).toBe(0);
    expect(await windows(aBudget)).toEqual([{ windowStart: '2026-07-01T00:00:00.000Z', spent: 0, reserved: 100 }]);
    await ledger.release(A.scope, aHeld);
    expect(await windows(aBudget)).toEqual([{ windowStart: '2026-07-01T00:00:00.000Z', spent: 0, reserved: 0 }]);
  });
});

describe('crashed reservations', () => {
  it('expire after the hold TTL: the next reservation gives them back; a late settle is still charged, once', async () => {
    const w = await world();
    const c = clock('2026-08-10T10:00:00.000Z');
    const ledger = new BudgetLedger({ db, logger, now: c.now, holdTtlMs: 60_000 });
    const b = await setBudget(w.tenantId, w.agent, 'DAY', 'TOKENS', 1_000);
    // A runner takes a reservation and dies before settling it.
    const crashed = admitted(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(1_000) }));
    c.advance(59_000);
    expect(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(10) })).toMatchObject({ ok: false, exhausted: { reserved: 1_000n } });
    c.advance(1_000);
    const next = admitted(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(10) }));
    expect(await windows(b)).toEqual([{ windowStart: '2026-08-10T00:00:00.000Z', spent: 0, reserved: 10 }]);
    expect(await holds(crashed.id)).toEqual([{ budgetId: b, amount: 1_000, expired: true }]);

    // The "crashed" call did finish after all: its usage counts, its hold is not returned twice.
    c.advance(5_000);
    expect(await ledger.settle(w.scope, crashed, call(300, 100, null))).toMatchObject({ settled: true, charged: 1 });
    expect(await windows(b)).toEqual([{ windowStart: '2026-08-10T00:00:00.000Z', spent: 400, reserved: 10 }]);
    await ledger.settle(w.scope, next, call(5, 5, null));
    expect(await windows(b)).toEqual([{ windowStart: '2026-08-10T00:00:00.000Z', spent: 410, reserved: 0 }]);
  });

  it('sweepExpired returns holds in past windows too, and purges expired holds after the retention', async () => {
    const w = await world();
    const c = clock('2026-08-10T23:59:00.000Z');
    const ledger = new BudgetLedger({ db, logger, now: c.now, holdTtlMs: 60_000, expiredRetentionMs: 3_600_000 });
    const b = await setBudget(w.tenantId, w.agent, 'DAY', 'TOKENS', 1_000);
    const crashed = admitted(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(700) }));
    c.set('2026-08-11T08:00:00.000Z');
    // Today's reservation never touches yesterday's window: only the sweep fixes it.
    admitted(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(5) }));
    expect((await windows(b))[0]).toEqual({ windowStart: '2026-08-10T00:00:00.000Z', spent: 0, reserved: 700 });
    expect(await ledger.sweepExpired(w.scope)).toEqual({ expired: 1, purged: 0 });
    expect((await windows(b))[0]).toEqual({ windowStart: '2026-08-10T00:00:00.000Z', spent: 0, reserved: 0 });
    expect(await ledger.sweepExpired(w.scope)).toEqual({ expired: 0, purged: 0 });
    c.advance(3_600_001);
    expect(await ledger.sweepExpired(w.scope)).toEqual({ expired: 1, purged: 1 });
    expect(await holds(crashed.id)).toEqual([]);
  });
});

describe('usage events', () => {
  it('each settled call publishes one usage event on the tenant channel', async () => {
    const w = await world();
    const prefix = `test:${randomUUID().slice(0, 8)}:`;
    const pub = new Redis('redis://127.0.0.1:6379');
    const sub = new Redis('redis://127.0.0.1:6379');
    const got: unknown[] = [];
    try {
      await sub.subscribe(tenantEventsChannel(prefix, w.tenantId));
      sub.on('message', (_ch, msg) => got.push(JSON.parse(msg)));
      const at = new Date('2026-09-01T12:00:00.000Z');
      const ledger = new BudgetLedger({ db, logger, now: () => at, publishEvent: createEventPublisher(pub, prefix, logger) });
      await setBudget(w.tenantId, w.agent, 'MONTH', 'USD_MICROS', 1_000_000);
      const r = admitted(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(100, 100) }));
      await ledger.settle(w.scope, r, { ...call(70, 30, 123n), provider: 'anthropic', model: 'claude-3-5-haiku-20241022' });
      await ledger.settle(w.scope, r, call(70, 30, 123n)); // a repeat publishes nothing
      const released = admitted(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(1, 1) }));
      await ledger.release(w.scope, released); // nor does a release
      await eventually(() => expect(got).toHaveLength(1));
      await new Promise((r) => setTimeout(r, 200));
      expect(got).toHaveLength(1);
      const event = TenantEvent.parse(got[0]);
      expect(event).toEqual({
        type: 'usage', tenantId: w.tenantId, agentId: w.agent, conversationId: null, provider: 'anthropic',
        model: 'claude-3-5-haiku-20241022', inputTokens: 70, outputTokens: 30, costUsdMicros: '123', at: at.toISOString(),
      });
    } finally {
      sub.disconnect();
      pub.disconnect();
    }
  });

  it('a publisher that throws does not fail the settle', async () => {
    const w = await world();
    const ledger = new BudgetLedger({ db, logger, publishEvent: () => { throw new Error('redis down'); } });
    const r = admitted(await ledger.reserve(w.scope, { agentId: w.agent, estimate: est(1) }));
    expect(await ledger.settle(w.scope, r, call(1, 1, 1n))).toMatchObject({ settled: true });
  });
});

describe('input checks', () => {
  it('rejects malformed estimates and agent ids before touching the database', async () => {
    const w = await world();
    const ledger = new BudgetLedger({ db: { withTenant: () => { throw new Error('db touched'); } } as unknown as Db, logger });
    const s: TenantScope = w.scope;
    await expect(ledger.reserve(s, { agentId: 'nope', estimate: est(1) })).rejects.toThrow('agentId is not a uuid');
    await expect(ledger.reserve(s, { agentId: w.agent, estimate: est(-1) })).rejects.toThrow('estimate.tokens');
    await expect(ledger.reserve(s, { agentId: w.agent, estimate: { tokens: 1.5, usdMicros: 0n } })).rejects.toThrow('estimate.tokens');
    await expect(ledger.reserve(s, { agentId: w.agent, estimate: { tokens: 1, usdMicros: 5 as unknown as bigint } })).rejects.toThrow('estimate.usdMicros');
  });
});
