import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listMigrations, migrate, startEmbeddedPostgres } from '@konstruct/db/admin';

type Embedded = Awaited<ReturnType<typeof startEmbeddedPostgres>>;

const REAL_MIGRATIONS = fileURLToPath(new URL('../../../prisma/migrations', import.meta.url));

interface HistoryRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  applied_steps_count: number;
  started_at: Date;
}

/**
 * Every test uses its own migration names and table names (random prefix), so they share one
 * embedded database (and its `_prisma_migrations`) without seeing each other's migrations.
 */
describe('migrate()', () => {
  let pgServer: Embedded;
  let client: pg.Client;
  const dirs: string[] = [];

  beforeAll(async () => {
    pgServer = await startEmbeddedPostgres();
    client = new pg.Client({ connectionString: pgServer.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await pgServer?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** A temp migrations folder in Prisma's layout: `<name>/migration.sql`, plus a lock file to ignore. */
  function migrationsDir(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'konstruct-migrate-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'migration_lock.toml'), 'provider = "postgresql"\n');
    // Written in reverse order, so the order on disk is not what makes the test pass.
    for (const [name, sql] of Object.entries(files).reverse()) writeMigration(dir, name, sql);
    return dir;
  }
  function writeMigration(dir: string, name: string, sql: string) {
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, 'migration.sql'), sql);
  }
  const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
  const prefix = () => `m${randomUUID().replaceAll('-', '').slice(0, 10)}`;

  async function history(names: string[]): Promise<HistoryRow[]> {
    const { rows } = await client.query<HistoryRow>(
      `SELECT migration_name, checksum, finished_at, rolled_back_at, applied_steps_count, started_at
         FROM "_prisma_migrations" WHERE migration_name = ANY($1) ORDER BY started_at, migration_name`,
      [names],
    );
    return rows;
  }
  async function tableExists(name: string): Promise<boolean> {
    const { rows } = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [`public.${name}`]);
    return rows[0]!.t !== null;
  }

  it('applies pending migrations in name order and records them as Prisma does', async () => {
    const p = prefix();
    const names = [`${p}_001_parent`, `${p}_002_child`, `${p}_003_seed`];
    const dir = migrationsDir({
      [names[0]!]: `CREATE TABLE ${p}_parent (id int PRIMARY KEY);`,
      // Depends on 001 (foreign key) — fails if applied out of order.
      [names[1]!]: `CREATE TABLE ${p}_child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES ${p}_parent(id));`,
      [names[2]!]: `INSERT INTO ${p}_parent VALUES (1); INSERT INTO ${p}_child VALUES (10, 1);`,
    });

    const result = await migrate(pgServer.url, dir);
    expect(result).toEqual({ applied: names, alreadyApplied: [] });

    const rows = await history(names);
    expect(rows.map((r) => r.migration_name)).toEqual(names);
    for (const r of rows) {
      expect(r.checksum).toBe(sha256(join(dir, r.migration_name, 'migration.sql')));
      expect(r.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(r.finished_at).toBeInstanceOf(Date);
      expect(r.finished_at!.getTime()).toBeGreaterThanOrEqual(r.started_at.getTime());
      expect(r.rolled_back_at).toBeNull();
      expect(r.applied_steps_count).toBe(1);
    }
    const { rows: data } = await client.query(`SELECT c.id, c.parent_id FROM ${p}_child c`);
    expect(data).toEqual([{ id: 10, parent_id: 1 }]);
  });

  it('a second run applies nothing and leaves the history unchanged; a new migration is applied alone', async () => {
    const p = prefix();
    const names = [`${p}_001_a`, `${p}_002_b`];
    const dir = migrationsDir({
      [names[0]!]: `CREATE TABLE ${p}_a (id int);`,
      [names[1]!]: `INSERT INTO ${p}_a VALUES (1);`,
    });
    expect(await migrate(pgServer.url, dir)).toEqual({ applied: names, alreadyApplied: [] });
    const before = await history(names);

    expect(await migrate(pgServer.url, dir)).toEqual({ applied: [], alreadyApplied: names });
    expect(await history(names)).toEqual(before);
    // The data migration did not run twice.
    expect((await client.query(`SELECT count(*)::int AS n FROM ${p}_a`)).rows[0].n).toBe(1);

    const third = `${p}_003_c`;
    writeMigration(dir, third, `INSERT INTO ${p}_a VALUES (3);`);
    expect(await migrate(pgServer.url, dir)).toEqual({ applied: [third], alreadyApplied: names });
    expect((await history([...names, third])).map((r) => r.migration_name)).toEqual([...names, third]);
  });

  it('refuses a migration that was changed after it was applied, naming it, and applies nothing after it', async () => {
    const p = prefix();
    const names = [`${p}_001_a`, `${p}_002_b`];
    const dir = migrationsDir({
      [names[0]!]: `CREATE TABLE ${p}_a (id int);`,
      [names[1]!]: `CREATE TABLE ${p}_b (id int);`,
    });
    await migrate(pgServer.url, dir);
    const before = await history(names);

    writeFileSync(join(dir, names[0]!, 'migration.sql'), `CREATE TABLE ${p}_a (id bigint);`);
    writeMigration(dir, `${p}_003_c`, `CREATE TABLE ${p}_c (id int);`);
    await expect(migrate(pgServer.url, dir)).rejects.toThrow(
      `migration ${names[0]} was changed after it was applied (checksum differs)`,
    );
    expect(await history(names)).toEqual(before);
    expect(await history([`${p}_003_c`])).toEqual([]);
    expect(await tableExists(`${p}_c`)).toBe(false);
  });

  it('rolls a failing migration back completely, names it in the error, and can apply it once fixed', async () => {
    const p = prefix();
    const ok = `${p}_001_ok`;
    const bad = `${p}_002_bad`;
    const later = `${p}_003_later`;
    const dir = migrationsDir({
      [ok]: `CREATE TABLE ${p}_ok (id int);`,
      // The first statement succeeds, the second fails: the table must not survive.
      [bad]: `CREATE TABLE ${p}_bad (id int);\nINSERT INTO ${p}_bad VALUES (1);\nSELECT 1 / 0;`,
      [later]: `CREATE TABLE ${p}_later (id int);`,
    });

    const err = await migrate(pgServer.url, dir).then(
      () => { throw new Error('migrate() should have failed'); },
      (e: Error) => e,
    );
    expect(err.message).toBe(`migration ${bad} failed: division by zero`);
    expect((err.cause as { code?: string }).code).toBe('22012');

    expect(await tableExists(`${p}_ok`)).toBe(true);
    expect(await tableExists(`${p}_bad`)).toBe(false);
    expect(await tableExists(`${p}_later`)).toBe(false);
    const rows = await history([ok, bad, later]);
    expect(rows.map((r) => [r.migration_name, r.finished_at !== null])).toEqual([[ok, true]]);

    // The database is usable afterwards (the failed transaction was rolled back, not left open).
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);

    writeFileSync(join(dir, bad, 'migration.sql'), `CREATE TABLE ${p}_bad (id int);`);
    expect(await migrate(pgServer.url, dir)).toEqual({ applied: [bad, later], alreadyApplied: [ok] });
    expect(await tableExists(`${p}_bad`)).toBe(true);
  });

  it('refuses to continue past a migration the Prisma CLI left unfinished; re-applies a rolled-back one', async () => {
    const p = prefix();
    const stuck = `${p}_001_stuck`;
    const dir = migrationsDir({ [stuck]: `CREATE TABLE ${p}_stuck (id int);` });
    const checksum = sha256(join(dir, stuck, 'migration.sql'));
    // What `prisma migrate deploy` leaves after a failure: a row with finished_at NULL.
    await client.query(
      'INSERT INTO "_prisma_migrations" (id, checksum, migration_name) VALUES ($1, $2, $3)',
      [randomUUID(), checksum, stuck],
    );
    await expect(migrate(pgServer.url, dir)).rejects.toThrow(`migration ${stuck} failed earlier and needs manual resolution`);
    expect(await tableExists(`${p}_stuck`)).toBe(false);

    // `prisma migrate resolve --rolled-back` marks it rolled back: then it is applied again.
    await client.query('UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = $1', [stuck]);
    expect(await migrate(pgServer.url, dir)).toEqual({ applied: [stuck], alreadyApplied: [] });
    expect(await tableExists(`${p}_stuck`)).toBe(true);
  });

  it('two concurrent migrate() calls on the same database apply each migration exactly once', async () => {
    const p = prefix();
    const names = Array.from({ length: 6 }, (_, i) => `${p}_00${i + 1}_step`);
    const dir = migrationsDir(
      Object.fromEntries(names.map((n, i) => [
        n,
        i === 0
          ? `CREATE TABLE ${p}_log (step int NOT NULL);`
          // Not idempotent on purpose: a second application would add a second row.
          : `CREATE TABLE ${p}_t${i} (id int); INSERT INTO ${p}_log VALUES (${i});`,
      ])),
    );

    const results = await Promise.allSettled([migrate(pgServer.url, dir), migrate(pgServer.url, dir), migrate(pgServer.url, dir)]);
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : []));
    expect(failures, failures.join('\n')).toEqual([]);
    const applied = results.flatMap((r) => (r.status === 'fulfilled' ? r.value.applied : []));
    expect([...applied].sort()).toEqual(names);

    const rows = await history(names);
    expect(rows.map((r) => r.migration_name).sort()).toEqual(names);
    expect(rows.every((r) => r.finished_at !== null && r.applied_steps_count === 1)).toBe(true);
    const { rows: log } = await client.query<{ step: number }>(`SELECT step FROM ${p}_log ORDER BY step`);
    expect(log.map((r) => r.step)).toEqual([1, 2, 3, 4, 5]);
  });

  it('the real prisma/migrations apply once (even with two migrators at once), and a later run is a no-op', async () => {
    // This test's database has none of the real schema (only the other tests' m… tables).
    expect(await tableExists('tenants')).toBe(false);
    const names = listMigrations(REAL_MIGRATIONS).map((m) => m.name);
    expect(names.length).toBeGreaterThanOrEqual(2);
    expect(names).toEqual([...names].sort());

    // Several services starting at once against the same database.
    const first = await Promise.all([migrate(pgServer.url, REAL_MIGRATIONS), migrate(pgServer.url, REAL_MIGRATIONS)]);
    expect(first.flatMap((r) => r.applied).sort()).toEqual(names);
    expect(first.flatMap((r) => r.alreadyApplied).sort()).toEqual(names);
    expect(await migrate(pgServer.url, REAL_MIGRATIONS)).toEqual({ applied: [], alreadyApplied: names });

    const rows = await history(names);
    expect(rows.map((r) => r.migration_name)).toEqual(names);
    for (const r of rows) {
      expect(r.checksum).toBe(sha256(join(REAL_MIGRATIONS, r.migration_name, 'migration.sql')));
      expect(r.finished_at).not.toBeNull();
      expect(r.applied_steps_count).toBe(1);
    }
    expect(await tableExists('tenants')).toBe(true);
    expect(await tableExists('audit_events')).toBe(true);
  }, 60_000);
});
