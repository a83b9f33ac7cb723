import { isUuid } from '@konstruct/core';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { literal, runBatch, type BatchRow } from './batch.ts';
import { PrismaClient, Prisma } from './generated/prisma/client.ts';

export { Prisma };

/** A tenant id that has been checked; the only way into tenant data. */
export type TenantScope = { readonly tenantId: string; readonly __scope: 'tenant' };


export function tenantScope(tenantId: string): TenantScope {
  if (!isUuid(tenantId)) throw new Error(`not a tenant id: ${JSON.stringify(tenantId)}`);
  return { tenantId: tenantId.toLowerCase(), __scope: 'tenant' };
}

/** The client handed to code inside a tenant transaction: every query runs under RLS. */
export type TenantTx = Prisma.TransactionClient;

/** Read-only routing look-ups that happen before the tenant is known. */
export type RoutingTx = Pick<Prisma.TransactionClient, 'channelConnection' | 'apiKey'>;

/** Operator login and platform administration: tenants, operators and memberships only. */
export type PlatformTx = Pick<Prisma.TransactionClient, 'tenant' | 'operator' | 'membership'>;

export interface DbOptions {
  url: string;
  /** Connections in this process's pool. */
  poolSize?: number;
  /** Longest a tenant transaction may run (ms); they should be short. */
  transactionTimeoutMs?: number;
}

export interface Db {
  /**
   * Runs `fn` in one transaction as the non-privileged `konstruct_app` role with the tenant
   * set transaction-locally; row-level security confines every statement to that tenant.
   */
  withTenant<T>(scope: TenantScope, fn: (tx: TenantTx) => Promise<T>): Promise<T>;
  /**
   * Statements under the same role and row-level security as `withTenant`, in one transaction
   * sent as one message (see batch.ts): for hot paths whose statements need no JavaScript
   * between them. Returns each statement's rows as pg parses them (bigint columns as strings).
   */
  tenantBatch(scope: TenantScope, statements: readonly Prisma.Sql[]): Promise<BatchRow[][]>;
  /** Runs `fn` as `konstruct_router`, which can only read channel connections and API keys. */
  withRouting<T>(fn: (tx: RoutingTx) => Promise<T>): Promise<T>;
  /** Runs `fn` as `konstruct_platform`: tenants, operators and memberships across tenants. */
  withPlatform<T>(fn: (tx: PlatformTx) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

function createPool(opts: DbOptions): pg.Pool {
  return new pg.Pool({ connectionString: opts.url, max: opts.poolSize ?? 10, connectionTimeoutMillis: 5_000 });
}

/** A Prisma client on its own pool (ended by `$disconnect`), or on the given one (left to its owner). */
export function createPrisma(opts: DbOptions, pool?: pg.Pool): PrismaClient {
  const adapter = pool ? new PrismaPg(pool) : new PrismaPg(createPool(opts), { disposeExternalPool: true });
  return new PrismaClient({ adapter });
}

export function createDb(opts: DbOptions): Db {
  // One pool for Prisma and the batches.
  const pool = createPool(opts);
  const prisma = createPrisma(opts, pool);
  const txOptions = { timeout: opts.transactionTimeoutMs ?? 10_000, maxWait: 10_000 };
  // A batch is bounded per statement, as an interactive transaction is as a whole: a statement
  // stuck behind a lock gives up instead of holding its connection. (PGlite accepts the setting
  // but does not enforce it.)
  const tenantSettings = `SELECT set_config('role', 'konstruct_app', true), set_config('statement_timeout', ${literal(String(txOptions.timeout))}, true),`;
  return {
    async withTenant(scope, fn) {
      if (scope?.__scope !== 'tenant') throw new Error('withTenant needs a TenantScope from tenantScope()');
      return prisma.$transaction(async (tx) => {
        // One round trip: `role` via set_config is SET LOCAL ROLE.
        await tx.$queryRaw`SELECT set_config('role', 'konstruct_app', true), set_config('app.tenant_id', ${scope.tenantId}, true)`;
        return fn(tx);
      }, txOptions);
    },
    async tenantBatch(scope, statements) {
      if (scope?.__scope !== 'tenant') throw new Error('tenantBatch needs a TenantScope from tenantScope()');
      return runBatch(pool, `${tenantSettings} set_config('app.tenant_id', ${literal(scope.tenantId)}, true)`, statements);
    },
    async withRouting(fn) {
      return prisma.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT set_config('role', 'konstruct_router', true), set_config('app.tenant_id', '', true)`;
        return fn(tx);
      }, txOptions);
    },
    async withPlatform(fn) {
      return prisma.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT set_config('role', 'konstruct_platform', true), set_config('app.tenant_id', '', true)`;
        return fn(tx);
      }, txOptions);
    },
    async ping() {
      await prisma.$queryRaw`SELECT 1`;
    },
    async close() {
      await prisma.$disconnect();
      // The adapter does not end a pool it was given.
      await pool.end().catch(() => undefined);
    },
  };
}
