import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate } from '@konstruct/db/admin';

export interface Backend {
  url: string;
  stop(): Promise<void>;
}

/** The newest installed PostgreSQL's binaries, or null. */
export function postgresBin(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Postgres refuses to run as root: run its tools as the `postgres` user then. */
function runPg(bin: string, args: string[]): void {
  const asRoot = userInfo().uid === 0;
  execFileSync(asRoot ? 'runuser' : bin, asRoot ? ['-u', 'postgres', '--', bin, ...args] : args, { stdio: 'pipe' });
}

/**
 * A throw-away PostgreSQL server from the installed binaries, migrated with the real migrations
 * except pgvector (not installed here: the one vector column is stored as real[]). PGlite runs
 * one transaction at a time; tests of concurrency, locks and timeouts need a real server too.
 */
export async function startRealPostgres(bin: string): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), 'konstruct-budget-pg-'));
  if (userInfo().uid === 0) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
  const data = join(dir, 'data');
  runPg(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  runPg(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`, 'start']);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable`;
  try {
    // The migrations as they are, except pgvector (not installed here).
    const source = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));
    const copy = join(dir, 'migrations');
    for (const name of readdirSync(source)) {
      const file = join(source, name, 'migration.sql');
      if (!existsSync(file)) continue;
      mkdirSync(join(copy, name), { recursive: true });
      const sql = readFileSync(file, 'utf8').replace(/^CREATE EXTENSION IF NOT EXISTS vector;$/m, '').replace(/\bvector\(384\)/g, 'real[]');
      writeFileSync(join(copy, name, 'migration.sql'), sql);
    }
    await migrate(url, copy);
  } catch (e) {
    runPg(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']);
    throw e;
  }
  return {
    url,
    async stop() {
      runPg(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
