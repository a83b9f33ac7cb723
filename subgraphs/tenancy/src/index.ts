import type { Logger } from '@konstruct/core';
import { startDbHealthService } from '@konstruct/db';
import type { TenancyConfig } from './env.ts';

export { loadEnv } from './env.ts';

/** The tenancy subgraph. Serves health until its GraphQL schema lands. */
export function startTenancy(config: TenancyConfig, _logger: Logger) {
  return startDbHealthService('tenancy-subgraph', config);
}
