import type { MasterKeyring } from '@konstruct/core';
import { createSubgraphBuilder } from '@konstruct/graphql';

/** What tenancy's resolvers need beyond the common context. */
export interface TenancyContext {
  jwtSecret: string;
  keyring: MasterKeyring;
}

export const { builder, ValidationError, NotFound } = createSubgraphBuilder<TenancyContext>();
