import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import pg from 'pg';
import { createDb, tenantScope, type Db, type TenantScope } from '@konstruct/db';

export function databaseUrl(): string {
  return inject('databaseUrl');
}

/** Owner connection for fixtures: creates tenants and inspects the catalog, bypassing RLS. */
export async function ownerClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl() });
  await client.connect();
  return client;
}

export function appDb(poolSize = 5): Db {
  return createDb({ url: databaseUrl(), poolSize });
}

export async function createTenant(owner: pg.Client, name = 'Tenant'): Promise<TenantScope> {
  const id = randomUUID();
  await owner.query('INSERT INTO tenants (id, slug, name) VALUES ($1, $2, $3)', [id, `t-${id}`, name]);
  return tenantScope(id);
}
