import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, Prisma, tenantScope, type Db } from '@konstruct/db';
import { databaseUrl } from '../../../test/support/db.ts';
import { postgresBin, startRealPostgres, type Backend } from '../../../test/support/real-postgres.ts';

/**
 * A batch's statements are bounded by the transaction timeout, as an interactive transaction
 * is: on a real server a statement waiting on a lock gives up, and its connection is usable
 * again. PGlite takes the setting without enforcing it (one transaction runs at a time there, so
 * nothing waits on a lock).
 */

const backends: [string, () => Promise<Backend>, boolean][] = [['the embedded database (PGlite)', async () => ({ url: databaseUrl(), stop: async () => {} }), false]];
const bin = postgresBin();
if (bin) backends.push(['a real PostgreSQL server', () => startRealPostgres(bin), true]);

describe.each(backends)('batch timeout on %s', (_name, start, enforced) => {
  let backend: Backend;
  let owner: pg.Client;
  let db: Db;
  const tenantId = randomUUID();

  beforeAll(async () => {
    backend = await start();
    owner = new pg.Client({ connectionString: backend.url });
    await owner.connect();
    await owner.query(`INSERT INTO tenants (id, slug, name) VALUES ('${tenantId}', 't-${tenantId}', 'Timeout')`);
    db = createDb({ url: backend.url, poolSize: 1, transactionTimeoutMs: 400 });
  }, 120_000);
  afterAll(async () => {
    await db?.close();
    await owner?.end();
    await backend?.stop();
  });

  it('sets the statement timeout for the batch only', async () => {
    const [inside] = await db.tenantBatch(tenantScope(tenantId), [Prisma.sql`SELECT current_setting('statement_timeout') AS t`]);
    expect(inside).toEqual([{ t: '400ms' }]);
    const { rows } = await owner.query(`SELECT current_setting('statement_timeout') AS t`);
    expect(rows[0].t).toBe('0');
  });

  // Registered only where it can hold (see above).
  if (enforced) it('gives up on a statement stuck behind a lock, and the connection is usable again', async () => {
    const holder = new pg.Client({ connectionString: backend.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM tenants WHERE id = '${tenantId}' FOR UPDATE`);
      const t0 = Date.now();
      await expect(db.tenantBatch(tenantScope(tenantId), [Prisma.sql`UPDATE tenants SET name = 'Renamed' WHERE id = ${tenantId}::uuid`])).rejects.toThrow(
        /statement timeout/,
      );
      expect(Date.now() - t0).toBeLessThan(5_000);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    // The pool's one connection was rolled back and works.
    const [, named] = await db.tenantBatch(tenantScope(tenantId), [
      Prisma.sql`UPDATE tenants SET name = 'Renamed' WHERE id = ${tenantId}::uuid`,
      Prisma.sql`SELECT name FROM tenants WHERE id = ${tenantId}::uuid`,
    ]);
    expect(named).toEqual([{ name: 'Renamed' }]);
  });
});
