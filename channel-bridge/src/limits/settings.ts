import { DEFAULT_RATE_LIMITS } from '@konstruct/core';
import { tenantScope, type Db } from '@konstruct/db';
import type { BucketLimit } from './token-buckets.ts';

export interface LimitSetting extends BucketLimit {
  busyMessage: string | null;
  /** `default` when the tenant has not configured this limit. */
  source: 'configured' | 'default';
}

export interface EffectiveLimits {
  tenant: LimitSetting;
  connection: LimitSetting;
}

/** Where a tenant has set no limit (see DEFAULT_RATE_LIMITS in @konstruct/core for why these). */
export const DEFAULT_LIMITS: { tenant: BucketLimit; connection: BucketLimit } = DEFAULT_RATE_LIMITS;

/** Sent when a BUSY_MESSAGE limit has no text of its own (the API requires one; old rows may not). */
export const DEFAULT_BUSY_MESSAGE = "We're receiving a lot of messages right now. We've got yours and will get back to you shortly.";

interface Cached {
  value: EffectiveLimits;
  expires: number;
}

/**
 * The tenant's rate-limit settings for one channel connection, read in the tenant's scope (the
 * routing role cannot see them) and cached briefly: every inbound message needs them, operators
 * change them rarely, and a change takes effect within `ttlMs`.
 */
export class RateLimitSettings {
  private cache = new Map<string, Cached>();

  constructor(
    private readonly db: Db,
    private readonly ttlMs = 10_000,
  ) {}

  async forRoute(tenantId: string, connectionId: string): Promise<EffectiveLimits> {
    const key = `${tenantId}:${connectionId}`;
    const hit = this.cache.get(key);
    if (hit && hit.expires > Date.now()) return hit.value;
    const rows = await this.db.withTenant(tenantScope(tenantId), (tx) =>
      tx.rateLimitSetting.findMany({
        where: { OR: [{ connectionId: null }, { connectionId }] },
        select: { connectionId: true, perMinute: true, burst: true, overLimitAction: true, busyMessage: true },
      }),
    );
    const pick = (row: (typeof rows)[number] | undefined, fallback: BucketLimit): LimitSetting =>
      row
        ? { perMinute: row.perMinute, burst: row.burst, overLimitAction: row.overLimitAction, busyMessage: row.busyMessage, source: 'configured' }
        : { ...fallback, busyMessage: null, source: 'default' };
    const value: EffectiveLimits = {
      tenant: pick(
        rows.find((r) => r.connectionId === null),
        DEFAULT_LIMITS.tenant,
      ),
      connection: pick(
        rows.find((r) => r.connectionId === connectionId),
        DEFAULT_LIMITS.connection,
      ),
    };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, { value, expires: Date.now() + this.ttlMs });
    return value;
  }
}
