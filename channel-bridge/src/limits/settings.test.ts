import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import type { Db } from '@konstruct/db';
import { appDb, createTenant, ownerClient } from '../../../test/support/db.ts';
import { DEFAULT_LIMITS, RateLimitSettings } from './settings.ts';

describe('RateLimitSettings (real Postgres, tenant scope)', () => {
  let db: Db;
  let owner: pg.Client;

  beforeAll(async () => {
    db = appDb(2);
    owner = await ownerClient();
  });
  afterAll(async () => {
    await owner?.end();
    await db?.close();
  });

  async function connection(tenantId: string) {
    const id = randomUUID();
    await owner.query(`INSERT INTO channel_connections (id, tenant_id, kind, external_id, updated_at) VALUES ($1, $2, 'slack', $3, now())`, [
      id,
      tenantId,
      `T${id.slice(0, 8).toUpperCase()}`,
    ]);
    return id;
  }
  async function setting(tenantId: string, connectionId: string | null, perMinute: number, action = 'defer', busy: string | null = null) {
    await owner.query(
      `INSERT INTO rate_limit_settings (id, tenant_id, connection_id, per_minute, burst, over_limit_action, busy_message, updated_at)
       VALUES ($1, $2, $3, $4, 5, $5, $6, now())`,
      [randomUUID(), tenantId, connectionId, perMinute, action, busy],
    );
  }

  it('uses the documented defaults when the tenant has configured nothing', async () => {
    const { tenantId } = await createTenant(owner);
    const conn = await connection(tenantId);
    expect(await new RateLimitSettings(db).forRoute(tenantId, conn)).toEqual({
      tenant: { ...DEFAULT_LIMITS.tenant, busyMessage: null, source: 'default' },
      connection: { ...DEFAULT_LIMITS.connection, busyMessage: null, source: 'default' },
    });
  });

  it("picks the tenant row and this connection's row, not another connection's or another tenant's", async () => {
    const { tenantId } = await createTenant(owner);
    const other = await createTenant(owner);
    const conn = await connection(tenantId);
    const sibling = await connection(tenantId);
    await setting(tenantId, null, 100, 'busy_message', 'Busy!');
    await setting(tenantId, sibling, 7);
    await setting(other.tenantId, null, 3);
    const limits = await new RateLimitSettings(db).forRoute(tenantId, conn);
    expect(limits.tenant).toEqual({ perMinute: 100, burst: 5, overLimitAction: 'busy_message', busyMessage: 'Busy!', source: 'configured' });
    expect(limits.connection.source).toBe('default');
    expect((await new RateLimitSettings(db).forRoute(tenantId, sibling)).connection).toMatchObject({ perMinute: 7, source: 'configured' });
  });

  it('caches for its TTL, then sees a change', async () => {
    const { tenantId } = await createTenant(owner);
    const conn = await connection(tenantId);
    const cached = new RateLimitSettings(db, 60_000);
    const fresh = new RateLimitSettings(db, 0);
    expect((await cached.forRoute(tenantId, conn)).connection.source).toBe('default');
    await fresh.forRoute(tenantId, conn);
    await setting(tenantId, conn, 42);
    expect((await cached.forRoute(tenantId, conn)).connection.source).toBe('default');
    expect((await fresh.forRoute(tenantId, conn)).connection).toMatchObject({ perMinute: 42, source: 'configured' });
  });
});
