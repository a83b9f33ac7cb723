import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, codes, startBillingHarness, type BillingHarness } from './harness.ts';

const PLANS = `{ plans { id code name monthlyPriceCents monthlyPriceUsd includedTokens limits active } }`;
const SUBSCRIPTION = `{ subscription { id status currentPeriodEnd plan { code includedTokens } } }`;

let h: BillingHarness;

beforeAll(async () => {
  h = await startBillingHarness();
});
afterAll(async () => {
  await h?.close();
});

async function createPlan(code: string, cents: number, active = true): Promise<string> {
  const id = randomUUID();
  await h.owner.query(
    `INSERT INTO plans (id, code, name, monthly_price_cents, included_tokens, limits, active) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [id, code, `Plan ${code}`, cents, '10000000000', JSON.stringify({ agents: 3 }), active],
  );
  return id;
}

async function createSubscription(tenantId: string, planId: string, status: string, createdAt: string) {
  await h.owner.query(
    `INSERT INTO subscriptions (id, tenant_id, plan_id, status, current_period_end, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
    [randomUUID(), tenantId, planId, status, '2030-01-01T00:00:00Z', createdAt],
  );
}

describe('authentication and roles', () => {
  it('answers 401 to a request without a gateway identity, or with a forged one', async () => {
    const none = await h.call('{ budgets { id } }', {}, null);
    expect(none.status).toBe(401);
    expect(codes(none)).toEqual(['UNAUTHENTICATED']);
    expect(none.data ?? null).toBeNull();

    const t = await h.tenant();
    const forged = await h.call('{ budgets { id } }', {}, as.admin(t), { forgeWith: 'x'.repeat(64) });
    expect(forged.status).toBe(401);
    expect(codes(forged)).toEqual(['UNAUTHENTICATED']);
  });

  it('refuses anonymous callers on every operation, including the plan catalogue', async () => {
    for (const q of [PLANS, SUBSCRIPTION, '{ budgets { id } }', '{ providerKeys { id } }']) {
      expect(codes(await h.call(q, {}, as.anonymous())), q).toEqual(['UNAUTHENTICATED']);
    }
  });

  it('needs a tenant for tenant data, even for a platform operator', async () => {
    expect(codes(await h.call('{ budgets { id } }', {}, as.platform()))).toEqual(['FORBIDDEN']);
    const write = await h.call(
      `mutation { setBudget(input: { period: DAY, unit: TOKENS, limit: "1" }) { __typename } }`,
      {},
      as.platform(),
    );
    expect(codes(write)).toEqual(['FORBIDDEN']);
  });
});

describe('plans and subscription', () => {
  it('lists active plans, cheapest first, to any authenticated caller (tenant or not)', async () => {
    const suffix = randomUUID().slice(0, 8);
    await createPlan(`pro-${suffix}`, 4900);
    await createPlan(`starter-${suffix}`, 900);
    await createPlan(`legacy-${suffix}`, 100, false);
    const t = await h.tenant();
    for (const who of [as.viewer(t), as.admin(t), as.platform()]) {
      const res = await h.call(PLANS, {}, who);
      expect(res.errors).toBeUndefined();
      const mine = res.data.plans.filter((p: { code: string }) => p.code.endsWith(suffix));
      expect(mine.map((p: { code: string }) => p.code)).toEqual([`starter-${suffix}`, `pro-${suffix}`]);
      expect(mine[1]).toMatchObject({ monthlyPriceCents: 4900, monthlyPriceUsd: 49, includedTokens: '10000000000', limits: { agents: 3 }, active: true });
    }
  });

  it("returns the tenant's current subscription, null when none, never another tenant's", async () => {
    const suffix = randomUUID().slice(0, 8);
    const basic = await createPlan(`basic-${suffix}`, 1000);
    const team = await createPlan(`team-${suffix}`, 5000);
    const a = await h.tenant();
    const b = await h.tenant();
    const none = await h.tenant();
    await createSubscription(a, basic, 'canceled', '2025-01-01T00:00:00Z');
    await createSubscription(a, team, 'active', '2025-02-01T00:00:00Z');
    await createSubscription(a, basic, 'incomplete_expired', '2025-03-01T00:00:00Z');
    await createSubscription(b, basic, 'trialing', '2025-01-01T00:00:00Z');

    const res = await h.call(SUBSCRIPTION, {}, as.viewer(a));
    expect(res.errors).toBeUndefined();
    expect(res.data.subscription).toMatchObject({ status: 'active', currentPeriodEnd: '2030-01-01T00:00:00.000Z', plan: { code: `team-${suffix}`, includedTokens: '10000000000' } });
    expect((await h.call(SUBSCRIPTION, {}, as.viewer(b))).data.subscription).toMatchObject({ status: 'trialing', plan: { code: `basic-${suffix}` } });
    const empty = await h.call(SUBSCRIPTION, {}, as.viewer(none));
    expect(empty.errors).toBeUndefined();
    expect(empty.data.subscription).toBeNull();
  });
});
