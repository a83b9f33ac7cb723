import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, it, expect } from 'vitest';
import { Redis } from 'ioredis';
import { Deduplicator } from './dedup.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';

describe('Deduplicator (real Redis)', () => {
  let redis: Redis;
  let prefix: string;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
  });

  afterAll(async () => {
    await redis.quit();
  });

  beforeEach(() => {
    prefix = `test:${randomUUID()}:`;
  });

  afterEach(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
  });

  it('first claim wins, second loses, after release it can be claimed again', async () => {
    const dedup = new Deduplicator(redis, prefix);
    const key = 'slack:T0001ACME:C0CUSTOMER:1732612345.000200';
    expect(await dedup.claim(key)).toBe(true);
    expect(await dedup.claim(key)).toBe(false);
    await dedup.release(key);
    expect(await dedup.claim(key)).toBe(true);
    expect(await dedup.claim(key)).toBe(false);
  });

  it('stores the claim under <prefix>dedup:<key>', async () => {
    const dedup = new Deduplicator(redis, prefix);
    await dedup.claim('k1');
    expect(await redis.exists(`${prefix}dedup:k1`)).toBe(1);
    await dedup.release('k1');
    expect(await redis.exists(`${prefix}dedup:k1`)).toBe(0);
  });

  it('keys are independent of each other', async () => {
    const dedup = new Deduplicator(redis, prefix);
    expect(await dedup.claim('a')).toBe(true);
    expect(await dedup.claim('b')).toBe(true);
    expect(await dedup.claim('a')).toBe(false);
  });

  it('different prefixes do not share claims', async () => {
    const other = `${prefix}other:`;
    expect(await new Deduplicator(redis, prefix).claim('k')).toBe(true);
    expect(await new Deduplicator(redis, other).claim('k')).toBe(true);
  });

  it('sets a TTL on the claim (default 24 h)', async () => {
    const dedup = new Deduplicator(redis, prefix);
    await dedup.claim('k');
    const ttl = await redis.ttl(`${prefix}dedup:k`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeGreaterThan(24 * 3600 - 10);
    expect(ttl).toBeLessThanOrEqual(24 * 3600);
  });

  it('honours a custom TTL, and a losing claim does not extend it', async () => {
    const dedup = new Deduplicator(redis, prefix, 60);
    await dedup.claim('k');
    await redis.expire(`${prefix}dedup:k`, 30);
    expect(await dedup.claim('k')).toBe(false);
    const ttl = await redis.ttl(`${prefix}dedup:k`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30);
  });

  it('a claim can be taken again after it expires', async () => {
    const dedup = new Deduplicator(redis, prefix, 1);
    expect(await dedup.claim('k')).toBe(true);
    expect(await dedup.claim('k')).toBe(false);
    await new Promise((r) => setTimeout(r, 1200));
    expect(await dedup.claim('k')).toBe(true);
  });
});
