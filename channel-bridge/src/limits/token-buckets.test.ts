import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { parseRateLimitCounters, rateLimitCountersKey, rateLimitKeys } from '@konstruct/core';
import { TokenBuckets, type BucketLimit } from './token-buckets.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';
const roomy: BucketLimit = { perMinute: 100_000, burst: 100_000, overLimitAction: 'defer' };

describe('TokenBuckets (real Redis, one Lua script)', () => {
  let redis: Redis;
  let prefix: string;
  let tenantId: string;
  let a: string;
  let b: string;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
  });
  afterAll(async () => {
    await redis.quit();
  });
  beforeEach(() => {
    prefix = `test:${randomUUID()}:`;
    tenantId = randomUUID();
    a = randomUUID();
    b = randomUUID();
  });
  afterEach(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
  });

  const tokensIn = async (key: string) => Number(await redis.hget(key, 'tokens'));

  it('admits a burst, then defers each further message one refill interval after the previous one', async () => {
    const buckets = new TokenBuckets(redis, prefix);
    const limits = { tenant: roomy, connection: { perMinute: 60, burst: 3, overLimitAction: 'defer' as const } };
    const t0 = 1_700_000_000_000;
    const got = [];
    for (let i = 0; i < 6; i++) got.push(await buckets.decide({ tenantId, connectionId: a }, limits, t0));
    expect(got.slice(0, 3)).toEqual([{ outcome: 'admitted' }, { outcome: 'admitted' }, { outcome: 'admitted' }]);
    // 60 a minute is one token a second; each deferred message reserves the next free second.
    expect(got.slice(3)).toEqual([
      { outcome: 'deferred', delayMs: 1_000, limitedBy: 'connection' },
      { outcome: 'deferred', delayMs: 2_000, limitedBy: 'connection' },
      { outcome: 'deferred', delayMs: 3_000, limitedBy: 'connection' },
    ]);
    // After the reserved slots have passed the bucket admits again.
    expect(await buckets.decide({ tenantId, connectionId: a }, limits, t0 + 4_000)).toEqual({ outcome: 'admitted' });
  });

  it('refills at perMinute and never above burst', async () => {
    const buckets = new TokenBuckets(redis, prefix);
    const limits = { tenant: roomy, connection: { perMinute: 60, burst: 2, overLimitAction: 'busy_message' as const } };
    const route = { tenantId, connectionId: a };
    const t0 = 1_700_000_000_000;
    expect((await buckets.decide(route, limits, t0)).outcome).toBe('admitted');
    expect((await buckets.decide(route, limits, t0)).outcome).toBe('admitted');
    expect(await buckets.decide(route, limits, t0)).toEqual({ outcome: 'busy', limitedBy: 'connection' });
    expect((await buckets.decide(route, limits, t0 + 500)).outcome).toBe('busy');
    expect((await buckets.decide(route, limits, t0 + 1_000)).outcome).toBe('admitted');
    // An hour idle refills to the burst of 2, not to 3 600.
    const later = t0 + 3_600_000;
    expect((await buckets.decide(route, limits, later)).outcome).toBe('admitted');
    expect((await buckets.decide(route, limits, later)).outcome).toBe('admitted');
    expect((await buckets.decide(route, limits, later)).outcome).toBe('busy');
  });

  it('consumes from both buckets only when both admit', async () => {
    const buckets = new TokenBuckets(redis, prefix);
    const tenant: BucketLimit = { perMinute: 1, burst: 3, overLimitAction: 'busy_message' };
    const narrow: BucketLimit = { perMinute: 1, burst: 1, overLimitAction: 'busy_message' };
    const wide: BucketLimit = { perMinute: 1, burst: 10, overLimitAction: 'busy_message' };
    const keysA = rateLimitKeys(prefix, tenantId, a);
    const keysB = rateLimitKeys(prefix, tenantId, b);
    const t0 = 1_700_000_000_000;

    expect((await buckets.decide({ tenantId, connectionId: a }, { tenant, connection: narrow }, t0)).outcome).toBe('admitted');
    expect(await tokensIn(keysA.tenantBucket)).toBe(2);
    // Connection a is empty: refused, and the tenant bucket is left as it was.
    expect(await buckets.decide({ tenantId, connectionId: a }, { tenant, connection: narrow }, t0)).toEqual({
      outcome: 'busy',
      limitedBy: 'connection',
    });
    expect(await tokensIn(keysA.tenantBucket)).toBe(2);

    // The tenant's two remaining tokens go to connection b; then the tenant refuses and b keeps its tokens.
    expect((await buckets.decide({ tenantId, connectionId: b }, { tenant, connection: wide }, t0)).outcome).toBe('admitted');
    expect((await buckets.decide({ tenantId, connectionId: b }, { tenant, connection: wide }, t0)).outcome).toBe('admitted');
    expect(await tokensIn(keysB.connectionBucket)).toBe(8);
    expect(await buckets.decide({ tenantId, connectionId: b }, { tenant, connection: wide }, t0)).toEqual({
      outcome: 'busy',
      limitedBy: 'tenant',
    });
    expect(await tokensIn(keysB.connectionBucket)).toBe(8);
    expect(await tokensIn(keysA.tenantBucket)).toBe(0);
  });

  it('lets the most specific refusing limit choose between deferring and the busy message', async () => {
    const buckets = new TokenBuckets(redis, prefix);
    const t0 = 1_700_000_000_000;
    const tenant: BucketLimit = { perMinute: 60, burst: 1, overLimitAction: 'busy_message' };
    const connection: BucketLimit = { perMinute: 60, burst: 1, overLimitAction: 'defer' };
    expect((await buckets.decide({ tenantId, connectionId: a }, { tenant, connection }, t0)).outcome).toBe('admitted');
    // Both are empty: the connection's own setting (defer) decides, and the slot is reserved in both.
    expect(await buckets.decide({ tenantId, connectionId: a }, { tenant, connection }, t0)).toEqual({
      outcome: 'deferred',
      delayMs: 1_000,
      limitedBy: 'both',
    });
    // Another connection with room: only the tenant refuses, so the tenant's busy message applies.
    expect(await buckets.decide({ tenantId, connectionId: b }, { tenant, connection: roomy }, t0)).toEqual({
      outcome: 'busy',
      limitedBy: 'tenant',
    });
  });

  it('counts admitted, deferred and busy per tenant and per connection', async () => {
    const buckets = new TokenBuckets(redis, prefix);
    const t0 = 1_700_000_000_000;
    const deferA = { tenant: roomy, connection: { perMinute: 60, burst: 2, overLimitAction: 'defer' as const } };
    const busyB = { tenant: roomy, connection: { perMinute: 60, burst: 1, overLimitAction: 'busy_message' as const } };
    for (let i = 0; i < 5; i++) await buckets.decide({ tenantId, connectionId: a }, deferA, t0);
    for (let i = 0; i < 4; i++) await buckets.decide({ tenantId, connectionId: b }, busyB, t0);
    const snapshot = parseRateLimitCounters(await redis.hgetall(rateLimitCountersKey(prefix, tenantId)));
    expect(snapshot.tenant).toEqual({ admitted: 3, deferred: 3, busy: 3 });
    expect(snapshot.connections).toEqual(
      [
        { connectionId: a, admitted: 2, deferred: 3, busy: 0 },
        { connectionId: b, admitted: 1, deferred: 0, busy: 3 },
      ].sort((x, y) => x.connectionId.localeCompare(y.connectionId)),
    );
    expect(snapshot.since?.getTime()).toBe(t0);
  });

  it('refills nothing when the clock steps backwards, and lets idle buckets expire', async () => {
    const buckets = new TokenBuckets(redis, prefix);
    const limits = { tenant: roomy, connection: { perMinute: 60, burst: 1, overLimitAction: 'busy_message' as const } };
    const route = { tenantId, connectionId: a };
    const t0 = 1_700_000_000_000;
    expect((await buckets.decide(route, limits, t0)).outcome).toBe('admitted');
    expect((await buckets.decide(route, limits, t0 - 60_000)).outcome).toBe('busy');
    expect((await buckets.decide(route, limits, t0 + 999)).outcome).toBe('busy');
    expect((await buckets.decide(route, limits, t0 + 1_000)).outcome).toBe('admitted');
    const ttl = await redis.pttl(rateLimitKeys(prefix, tenantId, a).connectionBucket);
    // Empty bucket: refills in 1 s, kept a second longer.
    expect(ttl).toBeGreaterThan(1_000);
    expect(ttl).toBeLessThanOrEqual(2_000);
  });

  it('takes exactly one Redis command per decision (EVAL once per connection, then EVALSHA)', async () => {
    const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
    const monitor = await redis.monitor();
    const seen: string[][] = [];
    // Commands a script runs are reported with source "lua"; only client round trips count.
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua' && args.some((x) => x.includes(prefix))) seen.push(args);
    });
    try {
      const buckets = new TokenBuckets(client, prefix);
      const limits = { tenant: roomy, connection: { perMinute: 60, burst: 2, overLimitAction: 'defer' as const } };
      for (let i = 0; i < 5; i++) await buckets.decide({ tenantId, connectionId: a }, limits);
      // MONITOR streams asynchronously; a marker command tells us everything before it arrived.
      await client.get(`${prefix}marker`);
      await waitUntil(() => seen.some((x) => x[1] === `${prefix}marker`));
      const commands = seen.filter((x) => x[1] !== `${prefix}marker`).map((x) => x[0]!.toLowerCase());
      expect(commands).toEqual(['eval', 'evalsha', 'evalsha', 'evalsha', 'evalsha']);
    } finally {
      monitor.disconnect();
      client.disconnect();
    }
  });

  it('never admits more than the burst across parallel bridges', async () => {
    const clients = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const c = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
        await c.connect();
        return c;
      }),
    );
    try {
      const bridges = clients.map((c) => new TokenBuckets(c, prefix));
      const busyLimits = { tenant: { perMinute: 1, burst: 7, overLimitAction: 'busy_message' as const }, connection: roomy };
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) => bridges[i % bridges.length]!.decide({ tenantId, connectionId: a }, busyLimits)),
      );
      expect(results.filter((r) => r.outcome === 'admitted')).toHaveLength(7);
      expect(results.filter((r) => r.outcome === 'busy')).toHaveLength(53);

      // Deferring under contention: still exactly the burst admitted, and every deferred message
      // gets its own slot (distinct delays, one refill interval apart).
      const otherTenant = randomUUID();
      const deferLimits = { tenant: roomy, connection: { perMinute: 60, burst: 5, overLimitAction: 'defer' as const } };
      const deferred = await Promise.all(
        Array.from({ length: 40 }, (_, i) => bridges[i % bridges.length]!.decide({ tenantId: otherTenant, connectionId: a }, deferLimits)),
      );
      expect(deferred.filter((r) => r.outcome === 'admitted')).toHaveLength(5);
      const delays = deferred.flatMap((r) => (r.outcome === 'deferred' ? [r.delayMs] : [])).sort((x, y) => x - y);
      expect(delays).toHaveLength(35);
      for (let i = 1; i < delays.length; i++) expect(delays[i]! - delays[i - 1]!).toBeGreaterThanOrEqual(900);
    } finally {
      for (const c of clients) c.disconnect();
    }
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 2_000) {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
