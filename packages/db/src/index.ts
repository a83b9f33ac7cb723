export { createDb, tenantScope, Prisma } from './client.ts';
export { inlineSql, jsonText } from './batch.ts';
export type { BatchRow } from './batch.ts';
export type { Db, DbOptions, TenantScope, TenantTx, RoutingTx, PlatformTx } from './client.ts';
export * as enums from './generated/prisma/enums.ts';
export { startDbHealthService } from './health-service.ts';
export {
  searchMemoryVectors,
  exactMemorySearchStatement,
  memoryHitsFromRows,
  memorySearchSql,
  memoryPlanFor,
  memoryAnnIndexName,
  clearMemoryPlanCache,
  efSearchFor,
  EXACT_ONLY_MODELS,
} from './memory-search.ts';
export type { MemoryPlan, MemoryVectorQuery, MemoryVectorHit, MemorySearchResult } from './memory-search.ts';
export { auditRow, recordAudit, storableAudit } from './audit.ts';
export type { AuditEntry } from './audit.ts';
