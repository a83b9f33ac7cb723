import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createTenant, ownerClient } from '../../../test/support/db.ts';

describe('tenant-wide settings are unique per tenant', () => {
  let owner: pg.Client;
  beforeAll(async () => {
    owner = await ownerClient();
  });
  afterAll(async () => {
    await owner.end();
  });

  it('allows one tenant-wide budget per period and unit, and per-agent budgets beside it', async () => {
    const t = await createTenant(owner);
    const insert = (agentId: string | null, period = 'month') =>
      owner.query(
        `INSERT INTO budgets (id, tenant_id, agent_id, period, unit, "limit", updated_at)
         VALUES (gen_random_uuid(), $1, $2, $3::budget_period, 'tokens', 1000, now())`,
        [t.tenantId, agentId, period],
      );
    await insert(null);
    await expect(insert(null)).rejects.toMatchObject({ code: '23505', constraint: 'budgets_tenant_wide_key' });
    await insert(null, 'day');
    const agent = (await owner.query(`INSERT INTO agents (id, tenant_id, name, updated_at) VALUES (gen_random_uuid(), $1, 'A', now()) RETURNING id`, [t.tenantId])).rows[0].id;
    await insert(agent);
    await expect(insert(agent)).rejects.toMatchObject({ code: '23505' });
  });

  it('allows one tenant-wide rate limit per tenant', async () => {
    const t = await createTenant(owner);
    const insert = () =>
      owner.query(
        `INSERT INTO rate_limit_settings (id, tenant_id, connection_id, per_minute, burst, updated_at)
         VALUES (gen_random_uuid(), $1, NULL, 60, 10, now())`,
        [t.tenantId],
      );
    await insert();
    await expect(insert()).rejects.toMatchObject({ code: '23505', constraint: 'rate_limit_settings_tenant_wide_key' });
  });
});
