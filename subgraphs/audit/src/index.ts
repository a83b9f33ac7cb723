import type { Logger } from '@konstruct/core';
import { startDbHealthService } from '@konstruct/db';
import type { AuditConfig } from './env.ts';

export { loadEnv } from './env.ts';

/** The audit subgraph. Serves health until its GraphQL schema lands. */
export function startAudit(config: AuditConfig, _logger: Logger) {
  return startDbHealthService('audit-subgraph', config);
}
