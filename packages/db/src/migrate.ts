import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';

export interface MigrationResult {
  applied: string[];
  alreadyApplied: string[];
}

/** Prisma's migration-history table, created exactly as `prisma migrate deploy` creates it. */
const HISTORY_DDL = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export function listMigrations(dir: string): { name: string; sql: string; checksum: string }[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'migration.sql')))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

/**
 * Applies pending migrations in order, each in its own transaction, and records them in
 * `_prisma_migrations` the way `prisma migrate deploy` does — so a database migrated here
 * can later be managed by the Prisma CLI and vice versa. An applied migration whose file has
 * changed since is refused rather than silently skipped.
 */
export async function migrate(databaseUrl: string, dir: string): Promise<MigrationResult> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const result: MigrationResult = { applied: [], alreadyApplied: [] };
  try {
    await client.query(HISTORY_DDL);
    // Serializes concurrent migrators (several processes starting at once).
    await client.query('SELECT pg_advisory_lock(72707369)');
    try {
      const { rows } = await client.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
        'SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL',
      );
      const done = new Map(rows.map((r) => [r.migration_name, r]));
      const alreadyDone = (name: string, checksum: string, prior: { checksum: string; finished_at: Date | null }) => {
        if (!prior.finished_at) throw new Error(`migration ${name} failed earlier and needs manual resolution`);
        if (prior.checksum !== checksum) {
          throw new Error(`migration ${name} was changed after it was applied (checksum differs); add a new migration instead`);
        }
        result.alreadyApplied.push(name);
      };
      for (const m of listMigrations(dir)) {
        const prior = done.get(m.name);
        if (prior) {
          alreadyDone(m.name, m.checksum, prior);
          continue;
        }
        const id = randomUUID();
        let appliedMeanwhile: { checksum: string; finished_at: Date | null } | undefined;
        await client.query('BEGIN');
        try {
          // Look again inside the transaction. On the embedded server (PGlite) every connection
          // shares one backend session, so the advisory lock above does not keep a second
          // migrator out; its transactions are exclusive, though, so this re-check is atomic.
          const again = await client.query<{ checksum: string; finished_at: Date | null }>(
            'SELECT checksum, finished_at FROM "_prisma_migrations" WHERE migration_name = $1 AND rolled_back_at IS NULL',
            [m.name],
          );
          appliedMeanwhile = again.rows[0];
          if (appliedMeanwhile) {
            await client.query('ROLLBACK');
          } else {
            await client.query(
              'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())',
              [id, m.checksum, m.name],
            );
            await client.query(m.sql);
            await client.query(
              'UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1',
              [id],
            );
            await client.query('COMMIT');
          }
        } catch (e) {
          await client.query('ROLLBACK');
          throw new Error(`migration ${m.name} failed: ${(e as Error).message}`, { cause: e });
        }
        if (appliedMeanwhile) {
          alreadyDone(m.name, m.checksum, appliedMeanwhile);
          continue;
        }
        result.applied.push(m.name);
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock(72707369)');
    }
  } finally {
    await client.end();
  }
  return result;
}
