import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { DEFAULT_NUMBER_RATE_PER_SECOND, DEFAULT_PAIR_INTERVAL_MS, WhatsAppPacer } from './whatsapp-pacing.ts';

describe('WhatsAppPacer (real Redis, controlled clock)', () => {
  let redis: Redis;
  let prefix: string;
  let clock: number;
  const now = () => clock;

  beforeAll(async () => {
    redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
  });
  afterAll(async () => {
    await redis.quit();
  });
  beforeEach(() => {
    prefix = `test:${randomUUID()}:`;
    // Mid-second, so the per-second counter window is not at its edge.
    clock = Date.now() - (Date.now() % 1000) + 100;
  });
  afterEach(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
  });

  it('defaults to Meta’s limits: one message per 6 s to a user, 80 per second per number', async () => {
    expect(DEFAULT_PAIR_INTERVAL_MS).toBe(6000);
    expect(DEFAULT_NUMBER_RATE_PER_SECOND).toBe(80);
    const pacer = new WhatsAppPacer(redis, { keyPrefix: prefix, now });
    expect(pacer.pairIntervalMs).toBe(6000);

    expect(await pacer.reserve('PN1', 'userA')).toBe(0);
    clock += 1;
    expect(await pacer.reserve('PN1', 'userA')).toBe(5999);
    clock += 5998;
    expect(await pacer.reserve('PN1', 'userA')).toBe(1);
    clock += 1;
    expect(await pacer.reserve('PN1', 'userA')).toBe(0);
  });

  it('restarts the pair interval when Meta answered, so a slow request cannot let the next arrive early', async () => {
    const pacer = new WhatsAppPacer(redis, { keyPrefix: prefix, now });
    expect(await pacer.reserve('PN1', 'userA')).toBe(0);
    clock += 250; // the Graph call took 250 ms
    await pacer.sent('PN1', 'userA');
    clock += 5999;
    // Without the restart the slot would be free again now (6000 ms after the reservation).
    expect(await pacer.reserve('PN1', 'userA')).toBe(1);
    // Never moves the slot earlier (e.g. a back-off already set).
    await pacer.pairLimitHit('PN1', 'userA');
    await pacer.sent('PN1', 'userA');
    expect(await pacer.reserve('PN1', 'userA')).toBe(6000);
  });

  it('paces each user separately and each number separately', async () => {
    const pacer = new WhatsAppPacer(redis, { keyPrefix: prefix, now });
    expect(await pacer.reserve('PN1', 'userA')).toBe(0);
    expect(await pacer.reserve('PN1', 'userB')).toBe(0);
    expect(await pacer.reserve('PN2', 'userA')).toBe(0);
    expect(await pacer.reserve('PN1', 'userA')).toBeGreaterThan(0);
  });

  it('shares the pair slot between instances (two pacers, one Redis)', async () => {
    const a = new WhatsAppPacer(redis, { keyPrefix: prefix, now });
    const b = new WhatsAppPacer(redis, { keyPrefix: prefix, now });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).reserve('PN1', 'userA')));
    expect(results.filter((w) => w === 0)).toHaveLength(1);
  });

  it('allows at most 80 sends per second per number, then waits for the next second', async () => {
    const pacer = new WhatsAppPacer(redis, { keyPrefix: prefix, now });
    const waits: number[] = [];
    for (let i = 0; i < 85; i++) waits.push(await pacer.reserve('PN1', `user${i}`));
    expect(waits.filter((w) => w === 0)).toHaveLength(80);
    expect(waits.slice(80)).toEqual([900, 900, 900, 900, 900]);
    clock += 900;
    expect(await pacer.reserve('PN1', 'user85')).toBe(0);
  });

  it('backs the whole number off after 130429, doubling on repeats', async () => {
    const pacer = new WhatsAppPacer(redis, { keyPrefix: prefix, now, throughputBackoffMs: 1000 });
    expect(await pacer.throughputHit('PN1')).toBe(1000);
    expect(await pacer.reserve('PN1', 'anyone')).toBe(1000);
    expect(await pacer.throughputHit('PN1')).toBe(2000);
    expect(await pacer.reserve('PN1', 'someone-else')).toBe(2000);
    expect(await pacer.reserve('PN2', 'anyone')).toBe(0);
    clock += 2000;
    expect(await pacer.reserve('PN1', 'anyone')).toBe(0);
  });

  it('backs one user off after 131056, starting at the pair interval', async () => {
    const pacer = new WhatsAppPacer(redis, { keyPrefix: prefix, now });
    expect(await pacer.reserve('PN1', 'userA')).toBe(0);
    expect(await pacer.pairLimitHit('PN1', 'userA')).toBe(6000);
    expect(await pacer.reserve('PN1', 'userA')).toBe(6000);
    expect(await pacer.pairLimitHit('PN1', 'userA')).toBe(12000);
    expect(await pacer.reserve('PN1', 'userA')).toBe(12000);
    expect(await pacer.reserve('PN1', 'userB')).toBe(0);
  });
});
