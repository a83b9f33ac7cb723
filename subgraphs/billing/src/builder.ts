import type { MasterKeyring } from '@konstruct/core';
import { createSubgraphBuilder } from '@konstruct/graphql';

/** What the billing subgraph adds to each request's context (see `startBilling`). */
export interface BillingContextExtra {
  /** Seals write-only provider keys. */
  keyring: MasterKeyring;
}

/** The billing subgraph's one schema builder, with the kit's scalars and result types. */
export const { builder, ValidationError, NotFound } = createSubgraphBuilder<BillingContextExtra>();
