/**
 * `npm run keys:rotate [-- --dry-run] [-- --tenant <id> …]`: re-wraps every envelope-encrypted
 * secret in the database under the current master key.
 *
 * Rotating the master key: set the new key as KONSTRUCT_MASTER_KEY and the old one(s) in
 * KONSTRUCT_PREVIOUS_MASTER_KEYS (comma-separated) for every service, restart them (they
 * decrypt with either), run this, then drop the old keys from KONSTRUCT_PREVIOUS_MASTER_KEYS.
 *
 * Every `*_enc` column of every table is found through the catalog, so columns added later
 * are covered without touching this file. Only the wrapped data key changes (rewrapSecret);
 * the ciphertext stays. Each new value is verified by decrypting it with the row's context
 * before it is written, and written only if the row still holds the value that was read, so
 * a secret changed meanwhile through the API is left alone. Running it again is harmless:
 * values already under the current key are counted and skipped.
 */
import { pathToFileURL } from 'node:url';
import { decryptSecret, keyringFrom, rewrapSecret, secretContext, type MasterKeyring } from '@konstruct/core';
import { createPrisma, startEmbeddedPostgres } from '@konstruct/db/admin';
import { loadEnv } from './env.ts';
import { loadDevSecrets } from './dev-secrets.ts';

/** What the rotation needs from a database connection (owner level: it crosses tenants). */
export interface Sql {
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
  execute(sql: string, params?: unknown[]): Promise<number>;
}

export interface SecretColumn {
  table: string;
  column: string;
  /** The `column` part of the AAD: the column name without `_enc` (secretContext convention). */
  contextColumn: string;
  idType: string;
  hasTenant: boolean;
}

export interface ColumnReport {
  table: string;
  column: string;
  /** Non-empty values. */
  total: number;
  alreadyCurrent: number;
  rewrapped: number;
  /** Changed by someone else between read and write; a later run picks them up. */
  changedMeanwhile: number;
  failed: { id: string; reason: string }[];
}

export interface RotationReport {
  keyId: string;
  dryRun: boolean;
  columns: ColumnReport[];
  totals: { total: number; alreadyCurrent: number; rewrapped: number; changedMeanwhile: number; failed: number };
}

const quote = (ident: string) => `"${ident.replaceAll('"', '""')}"`;

export async function findSecretColumns(sql: Sql): Promise<SecretColumn[]> {
  const rows = await sql.query<{ table_name: string; column_name: string; id_type: string | null; has_tenant: boolean }>(
    `SELECT c.table_name, c.column_name,
            (SELECT i.udt_name FROM information_schema.columns i
              WHERE i.table_schema = c.table_schema AND i.table_name = c.table_name AND i.column_name = 'id') AS id_type,
            EXISTS (SELECT 1 FROM information_schema.columns t
              WHERE t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.column_name = 'tenant_id') AS has_tenant
       FROM information_schema.columns c
       JOIN information_schema.tables tb ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name
      WHERE c.table_schema = 'public' AND tb.table_type = 'BASE TABLE'
        AND c.column_name LIKE '%\\_enc' AND c.data_type IN ('text', 'character varying')
      ORDER BY c.table_name, c.column_name`,
  );
  return rows.map((r) => {
    if (!r.id_type) throw new Error(`${r.table_name} has an encrypted column but no id column; cannot rotate it`);
    return { table: r.table_name, column: r.column_name, contextColumn: r.column_name.replace(/_enc$/, ''), idType: r.id_type, hasTenant: r.has_tenant };
  });
}

export interface RotateOptions {
  dryRun?: boolean;
  /** Limit to these tenants (tables without tenant_id are then skipped). */
  tenantIds?: string[];
  batchSize?: number;
}

export async function rotateSecrets(sql: Sql, ring: MasterKeyring, opts: RotateOptions = {}): Promise<RotationReport> {
  const batch = opts.batchSize ?? 500;
  const columns: ColumnReport[] = [];
  for (const col of await findSecretColumns(sql)) {
    if (opts.tenantIds && !col.hasTenant) continue;
    const t = quote(col.table);
    const c = quote(col.column);
    const tenantFilter = opts.tenantIds ? ` AND tenant_id = ANY($2::uuid[])` : '';
    const scope = opts.tenantIds ? [opts.tenantIds] : [];
    const [counts] = await sql.query<{ total: bigint | number; current: bigint | number }>(
      `SELECT count(*) AS total, count(*) FILTER (WHERE split_part(${c}, '.', 2) = $1) AS current
         FROM ${t} WHERE ${c} IS NOT NULL AND ${c} <> ''${tenantFilter}`,
      [ring.current, ...scope],
    );
    const report: ColumnReport = {
      table: col.table,
      column: col.column,
      total: Number(counts?.total ?? 0),
      alreadyCurrent: Number(counts?.current ?? 0),
      rewrapped: 0,
      changedMeanwhile: 0,
      failed: [],
    };
    let after = '';
    for (;;) {
      const afterParam = `$${scope.length + 2}`;
      const rows = await sql.query<{ id: string; value: string }>(
        `SELECT id::text AS id, ${c} AS value FROM ${t}
          WHERE ${c} IS NOT NULL AND ${c} <> '' AND split_part(${c}, '.', 2) <> $1${tenantFilter} AND id::text > ${afterParam}
          ORDER BY id::text LIMIT ${batch}`,
        [ring.current, ...scope, after],
      );
      if (!rows.length) break;
      after = rows.at(-1)!.id;
      for (const row of rows) {
        let next: string;
        try {
          next = rewrapSecret(ring, row.value);
          // Proves the new value opens with this row's context before anything is written.
          decryptSecret(ring, next, secretContext(col.table, col.contextColumn, row.id));
        } catch (e) {
          report.failed.push({ id: row.id, reason: (e as Error).message });
          continue;
        }
        if (opts.dryRun) {
          report.rewrapped += 1;
          continue;
        }
        const n = await sql.execute(`UPDATE ${t} SET ${c} = $1 WHERE id = CAST($2 AS ${quote(col.idType)}) AND ${c} = $3`, [next, row.id, row.value]);
        if (n === 1) report.rewrapped += 1;
        else report.changedMeanwhile += 1;
      }
    }
    columns.push(report);
  }
  const sum = (f: (r: ColumnReport) => number) => columns.reduce((n, r) => n + f(r), 0);
  return {
    keyId: ring.current,
    dryRun: opts.dryRun ?? false,
    columns,
    totals: {
      total: sum((r) => r.total),
      alreadyCurrent: sum((r) => r.alreadyCurrent),
      rewrapped: sum((r) => r.rewrapped),
      changedMeanwhile: sum((r) => r.changedMeanwhile),
      failed: sum((r) => r.failed.length),
    },
  };
}

/** The owner-level Prisma client as `Sql`. */
export function prismaSql(prisma: ReturnType<typeof createPrisma>): Sql {
  return {
    query: (text, params = []) => prisma.$queryRawUnsafe(text, ...params),
    execute: (text, params = []) => prisma.$executeRawUnsafe(text, ...params),
  };
}

function parseArgs(argv: string[]): RotateOptions {
  const opts: RotateOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--dry-run') opts.dryRun = true;
    else if (arg === '--tenant' && argv[i + 1]) (opts.tenantIds ??= []).push(argv[++i]!);
    else throw new Error(`unknown argument ${arg}; usage: keys:rotate [--dry-run] [--tenant <uuid>]…`);
  }
  return opts;
}

async function main() {
  const config = loadEnv();
  const opts = parseArgs(process.argv.slice(2));
  const masterKey =
    config.masterKey ?? (config.nodeEnv === 'production' ? undefined : loadDevSecrets(config.dataDir).KONSTRUCT_MASTER_KEY);
  if (!masterKey) throw new Error('KONSTRUCT_MASTER_KEY is required (the key to rotate to)');
  const ring = keyringFrom(masterKey, config.previousMasterKeys);
  const embedded = config.databaseUrl ? null : await startEmbeddedPostgres({ dataDir: `${config.dataDir}/pg`, port: config.embeddedPort });
  const prisma = createPrisma({ url: config.databaseUrl ?? embedded!.url, poolSize: 2 });
  try {
    const report = await rotateSecrets(prismaSql(prisma), ring, opts);
    const verb = report.dryRun ? 'would re-wrap' : 're-wrapped';
    for (const c of report.columns) {
      console.log(`${c.table}.${c.column}: ${c.total} secrets, ${c.alreadyCurrent} already under ${report.keyId}, ${verb} ${c.rewrapped}` +
        (c.changedMeanwhile ? `, ${c.changedMeanwhile} changed meanwhile (run again)` : '') +
        (c.failed.length ? `, ${c.failed.length} FAILED` : ''));
      for (const f of c.failed) console.log(`  ${c.table} ${f.id}: ${f.reason}`);
    }
    const t = report.totals;
    console.log(`total: ${t.total} secrets, ${t.alreadyCurrent} already current, ${verb} ${t.rewrapped}, ${t.changedMeanwhile} changed meanwhile, ${t.failed} failed`);
    if (t.failed) {
      console.error('some secrets could not be re-wrapped: add the master key they name to KONSTRUCT_PREVIOUS_MASTER_KEYS and run again');
      process.exitCode = 1;
    }
  } finally {
    await prisma.$disconnect();
    await embedded?.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(`key rotation failed: ${(e as Error).message}`);
    process.exitCode = 1;
  });
}
