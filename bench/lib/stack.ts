import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { Connection } from 'rabbitmq-client';
import { deleteTopology } from '@konstruct/bus';
import { seedSlackTenant, type SlackTenant } from '../../test/support/platform.ts';
import { firstJsonLine, startProcess, stopProcess } from './procs.ts';

export const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
export const REDIS_URL = 'redis://127.0.0.1:6379';

export interface BenchStack {
  databaseUrl: string;
  masterKey: string;
  /** This run's bus topology prefix (its Redis keys use `konstruct-<prefix>`). */
  prefix: string;
  tenant: SlackTenant;
  /** What every service process of the run gets: production mode, this run's database, bus and keys. */
  env: Record<string, string>;
  /** Deletes the run's bus topology and stops the database. */
  stop(): Promise<void>;
}

/**
 * What the webhook and runner benchmarks share: the embedded database in its own process, one
 * Slack tenant allowed far more than any offered rate (the benchmarks measure the pipeline, not
 * the tenant's limits), and a bus topology of the run's own.
 */
export async function startBenchStack(name: string): Promise<BenchStack> {
  const dbProc = startProcess('bench/embedded-db.ts', {});
  const { url: databaseUrl } = await firstJsonLine<{ url: string }>(dbProc);
  const masterKey = randomBytes(32).toString('base64');
  const prefix = `bench-${name}-${randomBytes(3).toString('hex')}.`;
  const tenant = await seedSlackTenant(databaseUrl, masterKey);
  await allowHighRates(databaseUrl, tenant.tenantId, tenant.connectionId);
  return {
    databaseUrl,
    masterKey,
    prefix,
    tenant,
    env: {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      DATABASE_URL: databaseUrl,
      AMQP_URL,
      REDIS_URL,
      BUS_PREFIX: prefix,
      REDIS_KEY_PREFIX: `konstruct-${prefix}`,
      KONSTRUCT_MASTER_KEY: masterKey,
    },
    async stop() {
      const conn = new Connection(AMQP_URL);
      await deleteTopology(conn, prefix).catch(() => undefined);
      await conn.close();
      await stopProcess(dbProc);
    },
  };
}

async function allowHighRates(databaseUrl: string, tenantId: string, connectionId: string): Promise<void> {
  const owner = new pg.Client({ connectionString: databaseUrl });
  await owner.connect();
  try {
    await owner.query(
      `INSERT INTO rate_limit_settings (id, tenant_id, connection_id, per_minute, burst, updated_at)
       VALUES ('${randomUUID()}', '${tenantId}', NULL, 1000000, 100000, now()), ('${randomUUID()}', '${tenantId}', '${connectionId}', 1000000, 100000, now())`,
    );
  } finally {
    await owner.end();
  }
}
