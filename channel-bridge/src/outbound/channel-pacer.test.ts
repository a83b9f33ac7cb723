import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { ChannelPacer, SLACK_CHANNEL_INTERVAL_MS } from './channel-pacer.ts';

describe('ChannelPacer (real Redis)', () => {
  let redis: Redis;
  let other: Redis;
  const prefix = `test-pacer-${randomBytes(4).toString('hex')}:`;

  beforeAll(() => {
    redis = new Redis('redis://127.0.0.1:6379');
    // A second connection stands in for a second bridge instance.
    other = new Redis('redis://127.0.0.1:6379');
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    other.disconnect();
  });

  it('spaces messages to one channel by one second by default, across instances', async () => {
    expect(SLACK_CHANNEL_INTERVAL_MS).toBe(1_000);
    const a = new ChannelPacer(redis, prefix);
    const b = new ChannelPacer(other, prefix);
    const key = a.key('tenant-1', 'conn-1', 'C1');
    expect(b.key('tenant-1', 'conn-1', 'C1')).toBe(key);
    expect(key).toBe(`${prefix}tenant:tenant-1:slack:pace:conn-1:C1`);

    const first = await a.reserve(key, 5_000);
    const second = await b.reserve(key, 5_000);
    const third = await a.reserve(key, 5_000);
    expect(first).toEqual({ granted: true, waitMs: 0 });
    expect(second.granted).toBe(true);
    expect(second.waitMs).toBeGreaterThan(900);
    expect(second.waitMs).toBeLessThanOrEqual(1_000);
    expect(third.waitMs).toBeGreaterThan(1_900);
    expect(third.waitMs).toBeLessThanOrEqual(2_000);
  });

  it('does not serialize different channels or tenants', async () => {
    const p = new ChannelPacer(redis, prefix);
    await p.reserve(p.key('tenant-2', 'conn', 'C1'), 5_000);
    expect((await p.reserve(p.key('tenant-2', 'conn', 'C2'), 5_000)).waitMs).toBe(0);
    expect((await p.reserve(p.key('tenant-3', 'conn', 'C1'), 5_000)).waitMs).toBe(0);
  });

  it('refuses a slot further away than allowed, without reserving it', async () => {
    const p = new ChannelPacer(redis, prefix, 1_000);
    const key = p.key('tenant-4', 'conn', 'C1');
    await p.reserve(key, 0);
    const refused = await p.reserve(key, 500);
    expect(refused.granted).toBe(false);
    expect(refused.waitMs).toBeGreaterThan(500);
    // Nothing was taken: the next caller is offered the same slot, not one a second later.
    const again = await p.reserve(key, 5_000);
    expect(again.granted).toBe(true);
    expect(again.waitMs).toBeLessThanOrEqual(1_000);
  });

  it('a pause (Retry-After) pushes the next slot out, and never pulls it in', async () => {
    const p = new ChannelPacer(redis, prefix, 100);
    const key = p.key('tenant-5', 'conn', 'C1');
    await p.pause(key, 3_000);
    const slot = await p.reserve(key, 10_000);
    expect(slot.waitMs).toBeGreaterThan(2_900);
    await p.pause(key, 10);
    expect((await p.reserve(key, 10_000)).waitMs).toBeGreaterThan(2_900);
  });
});
