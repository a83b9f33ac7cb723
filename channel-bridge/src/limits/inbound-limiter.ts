import type { Redis } from 'ioredis';
import type { Db } from '@konstruct/db';
import { TokenBuckets, type LimitedBy } from './token-buckets.ts';
import { DEFAULT_BUSY_MESSAGE, RateLimitSettings, type EffectiveLimits } from './settings.ts';

export type InboundDecision =
  | { outcome: 'admitted' }
  | { outcome: 'deferred'; delayMs: number; limitedBy: LimitedBy }
  | { outcome: 'busy'; busyReply: string; limitedBy: LimitedBy };

export interface InboundLimiter {
  decide(route: { tenantId: string; connectionId: string }): Promise<InboundDecision>;
}

/** The tenant's and the connection's limits (cached from Postgres) applied in one Redis round trip. */
export class RateLimiter implements InboundLimiter {
  private readonly buckets: TokenBuckets;

  constructor(
    private readonly settings: Pick<RateLimitSettings, 'forRoute'>,
    redis: Redis,
    keyPrefix: string,
  ) {
    this.buckets = new TokenBuckets(redis, keyPrefix);
  }

  static create(db: Db, redis: Redis, keyPrefix: string, settingsTtlMs?: number): RateLimiter {
    return new RateLimiter(new RateLimitSettings(db, settingsTtlMs), redis, keyPrefix);
  }

  async decide(route: { tenantId: string; connectionId: string }): Promise<InboundDecision> {
    const limits = await this.settings.forRoute(route.tenantId, route.connectionId);
    const d = await this.buckets.decide(route, limits);
    if (d.outcome !== 'busy') return d;
    return { outcome: 'busy', busyReply: busyText(limits, d.limitedBy), limitedBy: d.limitedBy };
  }
}

/** The text of the limit that decided (the connection's when it refused), as the script chose the action. */
function busyText(limits: EffectiveLimits, limitedBy: LimitedBy): string {
  const deciding = limitedBy === 'tenant' ? limits.tenant : limits.connection;
  return deciding.busyMessage?.trim() || DEFAULT_BUSY_MESSAGE;
}
