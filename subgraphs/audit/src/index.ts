import type { Logger } from '@konstruct/core';
import { startSubgraphService } from '@konstruct/graphql';
import type { AuditConfig } from './env.ts';
import { schema } from './schema/index.ts';

export { loadEnv } from './env.ts';

/** The audit subgraph: reads and verifies the tenant's audit log (the platform writes it). */
export function startAudit(config: AuditConfig, logger: Logger) {
  return startSubgraphService('audit-subgraph', config, schema, logger);
}
