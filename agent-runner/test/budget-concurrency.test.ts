import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@konstruct/core';
import { createDb, tenantScope, type Db, type TenantScope } from '@konstruct/db';
import { databaseUrl } from '../../test/support/db.ts';
import { postgresBin, startRealPostgres, type Backend } from '../../test/support/real-postgres.ts';
import { callCostUsdMicros } from '../src/llm/prices.ts';
import type { ChatMessage } from '../src/llm/types.ts';
import { BudgetLedger, estimateCall, type Reservation } from '../src/budget/index.ts';

/**
 * The fault test "concurrent calls never overshoot a budget by more than one call", run by
 * three ledgers on three connection pools (three runner processes, as far as the database can
 * tell).
 *
 * It runs twice: on the embedded database every test uses, and on a real PostgreSQL server
 * started for this file when its binaries are installed. PGlite executes one transaction at a
 * time, so there a reservation that forgot its row locks would still pass; real Postgres runs
 * the transactions concurrently under READ COMMITTED, which is where the FOR UPDATE locks are
 * what keeps the budget. (The real server has no pgvector here: the migrations are applied
 * with the one vector column stored as real[] instead; nothing of the budget depends on it.)
 */

const logger = createLogger('budget-concurrency', 'silent');
const PROCESSES = 3;
const CALLS = 50;
const NOW = new Date('2026-10-15T12:00:00Z');


// ───────────────────────────── the tests, per backend ─────────────────────────────

const backends: [string, () => Promise<Backend>][] = [
  ['the embedded database (PGlite)', async () => ({ url: databaseUrl(), stop: async () => {} })],
];
const realPostgres = postgresBin();
if (realPostgres) backends.push(['a real PostgreSQL server', () => startRealPostgres(realPostgres)]);

describe.each(backends)('on %s', (_name, start) => {
  let backend: Backend;
  let owner: pg.Client;
  let pools: Db[];
  let ledgers: BudgetLedger[];

  beforeAll(async () => {
    backend = await start();
    owner = new pg.Client({ connectionString: backend.url });
    await owner.connect();
    pools = Array.from({ length: PROCESSES }, () => createDb({ url: backend.url, poolSize: 4 }));
    ledgers = pools.map((db) => new BudgetLedger({ db, logger, now: () => NOW }));
  }, 120_000);
  afterAll(async () => {
    for (const p of pools ?? []) await p.close();
    await owner?.end();
    await backend?.stop();
  });

  async function world(budgets: { agent: boolean; period: 'day' | 'month'; unit: 'tokens' | 'usd_micros'; limit: bigint }[]) {
    const tenantId = randomUUID();
    const agentId = randomUUID();
    await owner.query('INSERT INTO tenants (id, slug, name) VALUES ($1, $2, $3)', [tenantId, `t-${tenantId}`, 'Concurrency']);
    await owner.query('INSERT INTO agents (id, tenant_id, name) VALUES ($1, $2, $3)', [agentId, tenantId, 'Ava']);
    const ids: string[] = [];
    for (const b of budgets) {
      const id = randomUUID();
      ids.push(id);
      await owner.query(
        `INSERT INTO budgets (id, tenant_id, agent_id, period, unit, "limit", created_at) VALUES ($1, $2, $3, $4, $5, $6, '2026-01-01')`,
        [id, tenantId, b.agent ? agentId : null, b.period, b.unit, b.limit.toString()],
      );
    }
    return { scope: tenantScope(tenantId), agentId, budgetIds: ids };
  }

  async function windowOf(budgetId: string) {
    const { rows } = await owner.query<{ spent: string; reserved: string; n: number }>(
      `SELECT w.spent::text, w.reserved::text, (SELECT count(*)::int FROM budget_reservations r WHERE r.budget_id = w.budget_id) AS n
         FROM budget_windows w WHERE w.budget_id = $1`,
      [budgetId],
    );
    expect(rows).toHaveLength(1);
    return { spent: BigInt(rows[0]!.spent), reserved: BigInt(rows[0]!.reserved), holds: rows[0]!.n };
  }

  it(`${CALLS} concurrent reserve → call → settle: total spent never exceeds the limit by more than one call's usage`, async () => {
    const TOKENS_LIMIT = 9_000n;
    const USD_LIMIT = 4_000n;
    const w = await world([
      { agent: false, period: 'day', unit: 'tokens', limit: TOKENS_LIMIT },
      { agent: true, period: 'month', unit: 'usd_micros', limit: USD_LIMIT },
    ]);
    const model = 'gpt-4o-mini';
    const maxOutputTokens = 300;

    type Outcome = { ok: false; scope: string } | { ok: true; estimate: { tokens: number; usd: bigint }; actual: { tokens: number; usd: bigint } };
    const one = async (i: number): Promise<Outcome> => {
      const ledger = ledgers[i % PROCESSES]!;
      const text = 'How do I reset my password? '.repeat(5 + ((i * 37) % 60));
      const messages: ChatMessage[] = [{ role: 'system', content: 'You are Ava.' }, { role: 'user', content: text }];
      const e = estimateCall({ messages, maxOutputTokens, deployments: [`openai:${model}`] });
      const r = await ledger.reserve(w.scope, { agentId: w.agentId, estimate: e });
      if (!r.ok) return { ok: false, scope: `${r.exhausted.scope}/${r.exhausted.unit}` };
      await sleep((i * 13) % 25); // the model thinking
      // What a provider would report: ~4 bytes per token of prompt, an answer up to the cap.
      const usage = {
        inputTokens: Math.ceil(Buffer.byteLength(text) / 4) + 12,
        outputTokens: 40 + ((i * 53) % (maxOutputTokens - 40)),
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
      };
      const cost = callCostUsdMicros('openai', model, usage)!;
      await ledger.settle(w.scope, r.reservation, { provider: 'openai', model, usage, latencyMs: 5, costUsdMicros: cost });
      return { ok: true, estimate: { tokens: e.tokens, usd: e.usdMicros }, actual: { tokens: usage.inputTokens + usage.outputTokens, usd: cost } };
    };

    const outcomes = await Promise.all(Array.from({ length: CALLS }, (_, i) => one(i)));
    const done = outcomes.filter((o): o is Extract<Outcome, { ok: true }> => o.ok);
    const refused = outcomes.filter((o) => !o.ok);
    // The limits are far below what 50 calls use: many are refused, some get through.
    expect(done.length).toBeGreaterThan(3);
    expect(refused.length).toBeGreaterThan(CALLS / 2);
    // Every call used no more than it reserved (the estimate is an upper bound).
    for (const d of done) {
      expect(d.actual.tokens).toBeLessThanOrEqual(d.estimate.tokens);
      expect(d.actual.usd <= d.estimate.usd).toBe(true);
    }

    const tokens = await windowOf(w.budgetIds[0]!);
    const usd = await windowOf(w.budgetIds[1]!);
    // Exact accounting across the three "processes": everything settled, nothing left held.
    expect(tokens).toEqual({ spent: BigInt(done.reduce((s, d) => s + d.actual.tokens, 0)), reserved: 0n, holds: 0 });
    expect(usd).toEqual({ spent: done.reduce((s, d) => s + d.actual.usd, 0n), reserved: 0n, holds: 0 });
    const { rows } = await owner.query<{ n: number }>('SELECT count(*)::int AS n FROM usage_records WHERE tenant_id = $1', [w.scope.tenantId]);
    expect(rows[0]!.n).toBe(done.length);

    // The bound.
    const maxTokens = BigInt(Math.max(...done.map((d) => d.actual.tokens)));
    const maxUsd = done.reduce((m, d) => (d.actual.usd > m ? d.actual.usd : m), 0n);
    expect(tokens.spent <= TOKENS_LIMIT + maxTokens, `tokens spent ${tokens.spent} > ${TOKENS_LIMIT} + ${maxTokens}`).toBe(true);
    expect(usd.spent <= USD_LIMIT + maxUsd, `usd spent ${usd.spent} > ${USD_LIMIT} + ${maxUsd}`).toBe(true);
  });

  it(`${CALLS} simultaneous reservations: admissions stop as soon as the holds cover the limit, so exactly one call may cross it`, async () => {
    const LIMIT = 5_000n;
    const w = await world([{ agent: true, period: 'day', unit: 'tokens', limit: LIMIT }]);
    const estimates = Array.from({ length: CALLS }, (_, i) => 100 + ((i * 71) % 400));
    // Nothing settles while the others reserve: the worst case for the limit.
    const results = await Promise.all(
      estimates.map((tokens, i) => ledgers[i % PROCESSES]!.reserve(w.scope, { agentId: w.agentId, estimate: { tokens, usdMicros: 0n } })),
    );
    const held: Reservation[] = results.flatMap((r) => (r.ok ? [r.reservation] : []));
    const refused = results.flatMap((r) => (r.ok ? [] : [r.exhausted]));
    const sum = held.reduce((s, r) => s + BigInt(r.estimate.tokens), 0n);
    const crossing = held.filter((r) => r.holds[0]!.crossing);

    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((x) => x.reason === 'no_room' && x.spent === 0n && x.reserved >= LIMIT)).toBe(true);
    // The holds reach the limit, and only the last admitted one goes past it.
    expect(sum >= LIMIT).toBe(true);
    expect(crossing.length).toBeLessThanOrEqual(1);
    const last = crossing[0] ? BigInt(crossing[0].estimate.tokens) : 0n;
    expect(sum - last < LIMIT, `held ${sum}, crossing call ${last}`).toBe(true);
    expect(await windowOf(w.budgetIds[0]!)).toEqual({ spent: 0n, reserved: sum, holds: held.length });

    // Every admitted call then uses half again what it reserved: the ledger charges it all, and
    // the overshoot is the crossing call plus those underestimates — which is why the estimate
    // must be an upper bound (estimateCall) for the one-call bound above to hold.
    await Promise.all(
      held.map((r, i) =>
        ledgers[i % PROCESSES]!.settle(w.scope, r, {
          provider: 'openai', model: 'gpt-4o-mini', latencyMs: 1, costUsdMicros: null,
          usage: { inputTokens: Math.ceil(r.estimate.tokens * 1.5), outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 },
        }),
      ),
    );
    const spent = held.reduce((s, r) => s + BigInt(Math.ceil(r.estimate.tokens * 1.5)), 0n);
    expect(await windowOf(w.budgetIds[0]!)).toEqual({ spent, reserved: 0n, holds: 0 });
    expect((await ledgers[0]!.reserve(w.scope, { agentId: w.agentId, estimate: { tokens: 1, usdMicros: 0n } })).ok).toBe(false);
  });

  it('reservations of two tenants running at once never touch each other', async () => {
    const A = await world([{ agent: false, period: 'month', unit: 'tokens', limit: 1_000n }]);
    const B = await world([{ agent: false, period: 'month', unit: 'tokens', limit: 1_000_000n }]);
    const go = (t: { scope: TenantScope; agentId: string }, i: number) =>
      ledgers[i % PROCESSES]!.reserve(t.scope, { agentId: t.agentId, estimate: { tokens: 100, usdMicros: 0n } });
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? go(A, i) : go(B, i))));
    const a = results.filter((_, i) => i % 2);
    const b = results.filter((_, i) => !(i % 2));
    expect(a.filter((r) => r.ok)).toHaveLength(10);
    expect(b.every((r) => r.ok)).toBe(true);
    expect(await windowOf(A.budgetIds[0]!)).toMatchObject({ reserved: 1_000n, holds: 10 });
    expect(await windowOf(B.budgetIds[0]!)).toMatchObject({ reserved: 2_000n, holds: 20 });
  });
});
