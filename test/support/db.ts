import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { inject } from 'vitest';
import pg from 'pg';
import { createDb, tenantScope, type Db, type TenantScope } from '@konstruct/db';

export function databaseUrl(): string {
  return inject('databaseUrl');
}

const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as { prepareValue(v: unknown): unknown };

/**
 * A test's own owner connection. Its parameterized queries go out on the simple protocol with
 * the values inlined as literals (escaped by pg itself), because the embedded database's socket
 * server can interleave two connections' extended-protocol messages outside a transaction
 * (electric-sql/pglite#1046) — a test polling while the services work could then break their
 * statements or its own. The services' own clients are untouched.
 */
export class OwnerClient extends pg.Client {
  override query(...args: any[]): any {
    const [text, values, ...rest] = args;
    if (typeof text === 'string' && Array.isArray(values) && values.length > 0) {
      const sql = text.replace(/\$(\d+)\b/g, (_m, n: string) => this.literal(values[Number(n) - 1]));
      return (super.query as any)(sql, ...rest);
    }
    return (super.query as any)(...args);
  }

  private literal(value: unknown): string {
    const v = prepareValue(value);
    if (v === null || v === undefined) return 'NULL';
    if (Buffer.isBuffer(v)) return `'\\x${v.toString('hex')}'`;
    return this.escapeLiteral(String(v));
  }
}

/** Owner connection for fixtures: creates tenants and inspects the catalog, bypassing RLS. */
export async function ownerClient(): Promise<pg.Client> {
  const client = new OwnerClient({ connectionString: databaseUrl() });
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
