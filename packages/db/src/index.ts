export { createDb, tenantScope, Prisma } from './client.ts';
export type { Db, DbOptions, TenantScope, TenantTx, RoutingTx, PlatformTx } from './client.ts';
export * as enums from './generated/prisma/enums.ts';
export { startDbHealthService } from './health-service.ts';
export {
  searchMemoryVectors,
  memorySearchSql,
  memoryPlanFor,
  memoryAnnIndexName,
  clearMemoryPlanCache,
  efSearchFor,
  EXACT_ONLY_MODELS,
} from './memory-search.ts';
export type { MemoryPlan, MemoryVectorQuery, MemoryVectorHit, MemorySearchResult } from './memory-search.ts';
export { auditRow, recordAudit } from './audit.ts';
export type { AuditEntry } from './audit.ts';
