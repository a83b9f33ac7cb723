import { isUuid } from '@konstruct/core';
import { PrismaPg } from '@prisma/adapter-pg';
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
  /** Runs `fn` as `konstruct_router`, which can only read channel connections and API keys. */
  withRouting<T>(fn: (tx: RoutingTx) => Promise<T>): Promise<T>;
  /** Runs `fn` as `konstruct_platform`: tenants, operators and memberships across tenants. */
  withPlatform<T>(fn: (tx: PlatformTx) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function createPrisma(opts: DbOptions): PrismaClient {
  const adapter = new PrismaPg({
    connectionString: opts.url,
    max: opts.poolSize ?? 10,
    connectionTimeoutMillis: 5_000,
  });
  return new PrismaClient({ adapter });
}

export function createDb(opts: DbOptions): Db {
  const prisma = createPrisma(opts);
  const txOptions = { timeout: opts.transactionTimeoutMs ?? 10_000, maxWait: 10_000 };
  return {
    async withTenant(scope, fn) {
      if (scope?.__scope !== 'tenant') throw new Error('withTenant needs a TenantScope from tenantScope()');
      return prisma.$transaction(async (tx) => {
        // One round trip: `role` via set_config is SET LOCAL ROLE.
        await tx.$queryRaw`SELECT set_config('role', 'konstruct_app', true), set_config('app.tenant_id', ${scope.tenantId}, true)`;
        return fn(tx);
      }, txOptions);
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
    },
  };
}
