import type { MasterKeyring } from '@konstruct/core';
import { createSubgraphBuilder } from '@konstruct/graphql';

/** What the agent subgraph adds to each request's context (see `startAgent`). */
export interface AgentContextExtra {
  /** Seals write-only tool HMAC secrets. */
  keyring: MasterKeyring;
}

/** The agent subgraph's one schema builder, with the kit's shared scalars and result types. */
export const { builder, ValidationError, NotFound } = createSubgraphBuilder<AgentContextExtra>();
