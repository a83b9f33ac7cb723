import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  /** postgres:// URL every process connects with. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Directory for the data files; omit for an in-memory database (tests, benchmarks). */
  dataDir?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  maxConnections?: number;
}

/**
 * Runs PGlite (Postgres compiled to WASM, with pgvector) and serves it over TCP with the
 * Postgres wire protocol, so every process connects with an ordinary URL. PGlite is one
 * backend: the socket server multiplexes connections onto it and keeps a transaction's
 * statements together, which is why tenant settings must be transaction-local.
 */
export async function startEmbeddedPostgres(opts: EmbeddedOptions = {}): Promise<EmbeddedPostgres> {
  if (opts.dataDir) mkdirSync(opts.dataDir, { recursive: true });
  const db = await PGlite.create(opts.dataDir ?? 'memory://', { extensions: { vector } });
  const host = opts.host ?? '127.0.0.1';
  const server = new PGLiteSocketServer({
    db,
    host,
    port: opts.port ?? 0,
    maxConnections: opts.maxConnections ?? 200,
  });
  await server.start();
  const conn = server.getServerConn();
  const port = Number(conn.slice(conn.lastIndexOf(':') + 1));
  return {
    url: `postgres://postgres:postgres@${host}:${port}/postgres?sslmode=disable`,
    port,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
