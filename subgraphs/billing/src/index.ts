import type { Logger } from '@konstruct/core';
import { startDbHealthService } from '@konstruct/db';
import type { BillingConfig } from './env.ts';

export { loadEnv } from './env.ts';

/** The billing subgraph. Serves health until its GraphQL schema lands. */
export function startBilling(config: BillingConfig, _logger: Logger) {
  return startDbHealthService('billing-subgraph', config);
}
