import { keyringFrom, type Logger } from '@konstruct/core';
import { startSubgraphService } from '@konstruct/graphql';
import type { BillingConfig } from './env.ts';
import { schema } from './schema/index.ts';

export { loadEnv } from './env.ts';
export type { BillingConfig } from './env.ts';

/** The billing subgraph: plans, subscription, budgets, provider keys and usage. */
export function startBilling(config: BillingConfig, logger: Logger) {
  return startSubgraphService('billing-subgraph', config, schema, logger, { keyring: keyringFrom(config.masterKey) });
}
