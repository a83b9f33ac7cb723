import type { Redis } from 'ioredis';
import { parseRateLimitCounters, rateLimitCountersKey, type RateLimitCounterSnapshot } from '@konstruct/core';

/** Reads the rate-limit counters channel-bridge keeps in Redis (admitted, deferred, busy). */
export interface RateLimitCounterReader {
  read(tenantId: string): Promise<RateLimitCounterSnapshot>;
}

export class RedisRateLimitCounters implements RateLimitCounterReader {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  async read(tenantId: string): Promise<RateLimitCounterSnapshot> {
    return parseRateLimitCounters(await this.redis.hgetall(rateLimitCountersKey(this.keyPrefix, tenantId)));
  }
}
