import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import type { Db } from '@konstruct/db';
import { appDb, createTenant, ownerClient } from '../../../test/support/db.ts';

describe('operators as seen by the application role', () => {
  let owner: pg.Client;
  let db: Db;
  beforeAll(async () => {
    owner = await ownerClient();
    db = appDb(2);
  });
  afterAll(async () => {
    await db.close();
    await owner.end();
  });

  async function operatorIn(tenantId: string | null, accepted = true) {
    const id = randomUUID();
    await owner.query(`INSERT INTO operators (id, email, password_hash, display_name) VALUES ($1, $2, 'secret-hash', 'Op')`, [
      id,
      `${id}@example.test`,
    ]);
    if (tenantId)
      await owner.query(`INSERT INTO memberships (id, tenant_id, operator_id, role, accepted_at) VALUES ($1, $2, $3, 'admin', $4)`, [
        randomUUID(),
        tenantId,
        id,
        accepted ? new Date() : null,
      ]);
    return id;
  }

  it("shows only the current tenant's members, and never a password hash", async () => {
    const a = await createTenant(owner);
    const b = await createTenant(owner);
    const memberA = await operatorIn(a.tenantId);
    const memberB = await operatorIn(b.tenantId);
    await operatorIn(null);
    // Invited to A but not accepted yet: A learns nothing about them.
    const invited = await operatorIn(a.tenantId, false);

    const visible = await db.withTenant(a, (tx) => tx.$queryRaw<{ id: string }[]>`SELECT id FROM operators`);
    expect(visible.map((r) => r.id)).toEqual([memberA]);
    expect(visible.map((r) => r.id)).not.toContain(memberB);
    expect(visible.map((r) => r.id)).not.toContain(invited);

    await expect(db.withTenant(a, (tx) => tx.$queryRaw`SELECT password_hash FROM operators`)).rejects.toThrow(/permission denied/);
    await expect(
      db.withTenant(a, (tx) => tx.$executeRaw`UPDATE operators SET display_name = 'x' WHERE id = ${memberA}::uuid`),
    ).rejects.toThrow(/permission denied/);
  });

  it('lets the platform role read operators for login, across tenants', async () => {
    const a = await createTenant(owner);
    const id = await operatorIn(a.tenantId);
    const row = await db.withPlatform((tx) => tx.operator.findUnique({ where: { id }, select: { passwordHash: true } }));
    expect(row?.passwordHash).toBe('secret-hash');
  });
});
