import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { periodStart } from '../src/domain/periods.ts';
import { as, codes, startBillingHarness, type BillingHarness } from './harness.ts';

const BUDGET = 'id agentId period unit limit limitUsd currentWindow { windowStart spent reserved }';
const SET = `mutation($input: SetBudgetInput!) { setBudget(input: $input) {
  __typename ... on Budget { ${BUDGET} } ... on ValidationError { message field } } }`;
const DELETE = `mutation($id: ID!) { deleteBudget(id: $id) { __typename ... on Deleted { id } ... on NotFound { id } } }`;
const LIST = `query($agentId: ID) { budgets(agentId: $agentId) { ${BUDGET} } }`;
const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) {
  __typename ... on Budget { ${BUDGET} } ... on Agent { id budget { id period unit limit } } } }`;

let h: BillingHarness;

beforeAll(async () => {
  h = await startBillingHarness();
});
afterAll(async () => {
  await h?.close();
});

async function set(tenantId: string, input: Record<string, unknown>) {
  const res = await h.call(SET, { input }, as.admin(tenantId));
  expect(res.errors).toBeUndefined();
  return res.data.setBudget;
}

async function budgetRows(tenantId: string) {
  const { rows } = await h.owner.query<{ id: string; agent_id: string | null; period: string; unit: string; limit: string }>(
    'SELECT id, agent_id, period::text, unit::text, "limit"::text FROM budgets WHERE tenant_id = $1 ORDER BY agent_id NULLS FIRST, period, unit',
    [tenantId],
  );
  return rows;
}

describe('budgets', () => {
  it('setBudget for the whole tenant upserts: set twice, one row with the new limit', async () => {
    const t = await h.tenant();
    const first = await set(t, { period: 'MONTH', unit: 'USD_MICROS', limit: '50000000' });
    expect(first).toMatchObject({ __typename: 'Budget', agentId: null, period: 'MONTH', unit: 'USD_MICROS', limit: '50000000', limitUsd: 50 });
    const second = await set(t, { agentId: null, period: 'MONTH', unit: 'USD_MICROS', limit: '75000000' });
    expect(second).toMatchObject({ id: first.id, limit: '75000000', limitUsd: 75 });
    expect(await budgetRows(t)).toEqual([{ id: first.id, agent_id: null, period: 'month', unit: 'usd_micros', limit: '75000000' }]);
  });

  it('per-agent budgets upsert separately from the tenant-wide one and from each other', async () => {
    const t = await h.tenant();
    const a1 = await h.agent(t, 'one');
    const a2 = await h.agent(t, 'two');
    const wide = await set(t, { period: 'DAY', unit: 'TOKENS', limit: '1000' });
    const one = await set(t, { agentId: a1, period: 'DAY', unit: 'TOKENS', limit: '100' });
    const oneAgain = await set(t, { agentId: a1, period: 'DAY', unit: 'TOKENS', limit: '200' });
    const two = await set(t, { agentId: a2, period: 'DAY', unit: 'TOKENS', limit: '300' });
    const oneMonthly = await set(t, { agentId: a1, period: 'MONTH', unit: 'TOKENS', limit: '5000' });
    const oneUsd = await set(t, { agentId: a1, period: 'DAY', unit: 'USD_MICROS', limit: '0' });
    expect(oneAgain.id).toBe(one.id);
    expect(oneUsd).toMatchObject({ limit: '0', limitUsd: 0 });
    expect(one.limitUsd).toBeNull();
    expect(new Set([wide.id, one.id, two.id, oneMonthly.id, oneUsd.id]).size).toBe(5);

    const rows = await budgetRows(t);
    expect(rows).toHaveLength(5);
    expect(rows.filter((r) => r.agent_id === null)).toEqual([{ id: wide.id, agent_id: null, period: 'day', unit: 'tokens', limit: '1000' }]);
    expect(rows.find((r) => r.id === one.id)?.limit).toBe('200');

    const forOne = await h.call(LIST, { agentId: a1 }, as.viewer(t));
    expect(forOne.data.budgets.map((b: { id: string }) => b.id).sort()).toEqual([one.id, oneMonthly.id, oneUsd.id].sort());
    const all = await h.call(LIST, {}, as.viewer(t));
    expect(all.data.budgets).toHaveLength(5);
    expect(all.data.budgets[0].id).toBe(wide.id); // tenant-wide first
  });

  it('concurrent setBudget calls still leave one tenant-wide row', async () => {
    const t = await h.tenant();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => h.call(SET, { input: { period: 'DAY', unit: 'USD_MICROS', limit: String(1000 + i) } }, as.admin(t))),
    );
    for (const r of results) expect(r.errors).toBeUndefined();
    const rows = await budgetRows(t);
    expect(rows).toHaveLength(1);
    expect(new Set(results.map((r) => r.data.setBudget.id))).toEqual(new Set([rows[0]!.id]));
  });

  it('rejects bad limits and agents of another tenant, storing nothing', async () => {
    const t = await h.tenant();
    const other = await h.tenant();
    const foreignAgent = await h.agent(other, 'theirs');
    for (const limit of ['-5', '1.5', 'abc', '', '99999999999999999999']) {
      expect(await set(t, { period: 'DAY', unit: 'TOKENS', limit }), limit).toMatchObject({ __typename: 'ValidationError', field: 'limit' });
    }
    expect(await set(t, { agentId: foreignAgent, period: 'DAY', unit: 'TOKENS', limit: '10' })).toMatchObject({
      __typename: 'ValidationError',
      field: 'agentId',
    });
    expect(await set(t, { agentId: 'agent-1', period: 'DAY', unit: 'TOKENS', limit: '10' })).toMatchObject({
      __typename: 'ValidationError',
      field: 'agentId',
    });
    expect(await budgetRows(t)).toEqual([]);
    expect(await budgetRows(other)).toEqual([]);
  });

  it('currentWindow reads the current UTC period and is zero when there is none', async () => {
    const t = await h.tenant();
    const day = await set(t, { period: 'DAY', unit: 'TOKENS', limit: '1000' });
    const month = await set(t, { period: 'MONTH', unit: 'TOKENS', limit: '100000' });
    const now = new Date();
    const dayStart = periodStart('day', now);
    const monthStart = periodStart('month', now);
    expect(day.currentWindow).toEqual({ windowStart: dayStart.toISOString(), spent: '0', reserved: '0' });
    expect(month.currentWindow).toEqual({ windowStart: monthStart.toISOString(), spent: '0', reserved: '0' });

    const insert = (budgetId: string, start: Date, spent: string, reserved: string) =>
      h.owner.query('INSERT INTO budget_windows (budget_id, tenant_id, window_start, spent, reserved) VALUES ($1, $2, $3, $4, $5)', [
        budgetId,
        t,
        start.toISOString(),
        spent,
        reserved,
      ]);
    await insert(day.id, dayStart, '420', '15');
    await insert(day.id, new Date(dayStart.getTime() - 86_400_000), '999', '999'); // yesterday
    await insert(month.id, monthStart, '9007199254740993', '7'); // beyond 2^53: must stay exact
    await insert(month.id, new Date(Date.UTC(2000, 0, 1)), '1', '1');

    const res = await h.call(LIST, {}, as.viewer(t));
    const byId = new Map(res.data.budgets.map((b: { id: string }) => [b.id, b]));
    expect((byId.get(day.id) as { currentWindow: unknown }).currentWindow).toEqual({ windowStart: dayStart.toISOString(), spent: '420', reserved: '15' });
    expect((byId.get(month.id) as { currentWindow: unknown }).currentWindow).toEqual({
      windowStart: monthStart.toISOString(),
      spent: '9007199254740993',
      reserved: '7',
    });
  });

  it("deleteBudget deletes once, then NotFound; another tenant's budget is NotFound and survives", async () => {
    const t = await h.tenant();
    const other = await h.tenant();
    const mine = await set(t, { period: 'DAY', unit: 'TOKENS', limit: '1' });
    const theirs = await set(other, { period: 'DAY', unit: 'TOKENS', limit: '1' });

    expect((await h.call(DELETE, { id: theirs.id }, as.admin(t))).data.deleteBudget).toEqual({ __typename: 'NotFound', id: theirs.id });
    expect(await budgetRows(other)).toHaveLength(1);
    expect((await h.call(DELETE, { id: mine.id }, as.admin(t))).data.deleteBudget).toEqual({ __typename: 'Deleted', id: mine.id });
    expect((await h.call(DELETE, { id: mine.id }, as.admin(t))).data.deleteBudget).toEqual({ __typename: 'NotFound', id: mine.id });
    expect((await h.call(DELETE, { id: 'nope' }, as.admin(t))).data.deleteBudget).toEqual({ __typename: 'NotFound', id: 'nope' });
    expect(await budgetRows(t)).toEqual([]);
  });

  it('viewers may read budgets but not set or delete them', async () => {
    const t = await h.tenant();
    const b = await set(t, { period: 'DAY', unit: 'TOKENS', limit: '10' });
    expect(codes(await h.call(SET, { input: { period: 'DAY', unit: 'TOKENS', limit: '99' } }, as.viewer(t)))).toEqual(['FORBIDDEN']);
    expect(codes(await h.call(DELETE, { id: b.id }, as.viewer(t)))).toEqual(['FORBIDDEN']);
    expect(await budgetRows(t)).toEqual([{ id: b.id, agent_id: null, period: 'day', unit: 'tokens', limit: '10' }]);
    const read = await h.call(LIST, {}, as.viewer(t));
    expect(read.errors).toBeUndefined();
    expect(read.data.budgets).toHaveLength(1);
  });

  it('resolves Budget entities within the tenant only, and Agent.budget prefers monthly over daily', async () => {
    const t = await h.tenant();
    const other = await h.tenant();
    const agent = await h.agent(t);
    const plain = await h.agent(t, 'no budget');
    const daily = await set(t, { agentId: agent, period: 'DAY', unit: 'USD_MICROS', limit: '1000000' });
    const theirs = await set(other, { period: 'DAY', unit: 'TOKENS', limit: '5' });

    const before = await h.call(ENTITIES, { r: [{ __typename: 'Agent', id: agent }, { __typename: 'Agent', id: plain }] }, as.viewer(t));
    expect(before.errors).toBeUndefined();
    expect(before.data._entities).toEqual([
      { __typename: 'Agent', id: agent, budget: { id: daily.id, period: 'DAY', unit: 'USD_MICROS', limit: '1000000' } },
      { __typename: 'Agent', id: plain, budget: null },
    ]);

    const monthlyTokens = await set(t, { agentId: agent, period: 'MONTH', unit: 'TOKENS', limit: '1' });
    const monthlyUsd = await set(t, { agentId: agent, period: 'MONTH', unit: 'USD_MICROS', limit: '2' });
    await set(t, { period: 'MONTH', unit: 'USD_MICROS', limit: '3' }); // tenant-wide: not the agent's
    const after = await h.call(ENTITIES, { r: [{ __typename: 'Agent', id: agent }] }, as.viewer(t));
    expect(after.data._entities[0].budget.id).toBe(monthlyUsd.id);
    expect(monthlyTokens.id).not.toBe(monthlyUsd.id);

    const budgets = await h.call(ENTITIES, { r: [{ __typename: 'Budget', id: daily.id }, { __typename: 'Budget', id: theirs.id }] }, as.viewer(t));
    expect(budgets.errors).toBeUndefined();
    expect(budgets.data._entities[0]).toMatchObject({ __typename: 'Budget', id: daily.id, limit: '1000000' });
    expect(budgets.data._entities[1]).toBeNull();
  });
});
