export { createDb, tenantScope, Prisma } from './client.ts';
export type { Db, DbOptions, TenantScope, TenantTx, RoutingTx, PlatformTx } from './client.ts';
export * as enums from './generated/prisma/enums.ts';
export { startDbHealthService } from './health-service.ts';
