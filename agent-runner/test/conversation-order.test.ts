import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createLogger, type KonstructMessageV1 } from '@konstruct/core';
import { ConversationOrder } from '../src/consumer/conversation-order.ts';

/** Per-conversation ordering against real Redis, with two runners (instances) sharing it. */
const redis = new Redis('redis://127.0.0.1:6379');
const prefix = `test-order-${randomBytes(4).toString('hex')}:`;
const logger = createLogger('order-test', 'silent');
const tenantId = randomUUID();
const msg = (ref: string) => ({ id: randomUUID(), tenantId, conversation: { ref } }) as unknown as KonstructMessageV1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterAll(() => redis.disconnect());

describe('ConversationOrder', () => {
  it('runs one conversation in delivery order and others in parallel', async () => {
    const order = new ConversationOrder(redis, prefix, { lockMs: 10_000, retryMs: 100 }, logger);
    const log: string[] = [];
    const turn = (name: string, ms: number) => async () => {
      log.push(`start ${name}`);
      await sleep(ms);
      log.push(`end ${name}`);
      return 'ack' as const;
    };
    const results = await Promise.all([
      order.run(msg('conv-a'), turn('a1', 150)),
      order.run(msg('conv-a'), turn('a2', 10)),
      order.run(msg('conv-b'), turn('b1', 10)),
    ]);
    expect(results).toEqual(['ack', 'ack', 'ack']);
    expect(log.indexOf('start a2')).toBeGreaterThan(log.indexOf('end a1'));
    // b ran while a1 was still going.
    expect(log.indexOf('end b1')).toBeLessThan(log.indexOf('end a1'));
    expect(await redis.keys(`${prefix}*`)).toEqual([]);
  });

  it('parks a message whose conversation another runner is answering, and frees the lock after a failure', async () => {
    const one = new ConversationOrder(redis, prefix, { lockMs: 10_000, retryMs: 123 }, logger);
    const two = new ConversationOrder(redis, prefix, { lockMs: 10_000, retryMs: 123 }, logger);
    let release!: () => void;
    const slow = one.run(msg('conv-c'), () => new Promise((r) => (release = () => r('ack'))));
    await sleep(20);
    expect(await two.run(msg('conv-c'), async () => 'ack')).toEqual({ retryAfterMs: 123 });
    expect(await two.run(msg('conv-d'), async () => 'ack')).toBe('ack');
    release();
    await slow;
    await expect(two.run(msg('conv-c'), async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await one.run(msg('conv-c'), async () => 'ack')).toBe('ack');
  });

  it('lets another runner in once the lock of a crashed holder expires', async () => {
    const order = new ConversationOrder(redis, prefix, { lockMs: 1_000, retryMs: 50 }, logger);
    await redis.set(order.lockKey(msg('conv-e')), 'dead-runner', 'PX', 150);
    expect(await order.run(msg('conv-e'), async () => 'ack')).toEqual({ retryAfterMs: 50 });
    await sleep(200);
    expect(await order.run(msg('conv-e'), async () => 'ack')).toBe('ack');
  });
});

describe('ConversationOrder renewal', () => {
  it('keeps the lock of a turn that runs longer than the lock lifetime', async () => {
    const one = new ConversationOrder(redis, prefix, { lockMs: 300, retryMs: 50 }, logger);
    const two = new ConversationOrder(redis, prefix, { lockMs: 300, retryMs: 50 }, logger);
    const slow = one.run(msg('conv-f'), async () => {
      await sleep(900);
      return 'ack';
    });
    await sleep(600);
    expect(await two.run(msg('conv-f'), async () => 'ack')).toEqual({ retryAfterMs: 50 });
    await slow;
    expect(await two.run(msg('conv-f'), async () => 'ack')).toBe('ack');
  });
});
