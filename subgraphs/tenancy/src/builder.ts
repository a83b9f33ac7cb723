import type { MasterKeyring } from '@konstruct/core';
import { createSubgraphBuilder } from '@konstruct/graphql';
import type { RateLimitCounterReader } from './domain/rate-limit-counters.ts';

/** What tenancy's resolvers need beyond the common context. */
export interface TenancyContext {
  jwtSecret: string;
  keyring: MasterKeyring;
  /** channel-bridge as browsers reach it, for install links; DEFAULT_BRIDGE_PUBLIC_URL when unset. */
  bridgePublicUrl?: string;
  /** Absent where no Redis is configured (some tests): `rateLimitCounters` then reports it unavailable. */
  rateLimitCounters?: RateLimitCounterReader;
}

export const { builder, ValidationError, NotFound } = createSubgraphBuilder<TenancyContext>();
