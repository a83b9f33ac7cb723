import { describe, it, expect } from 'vitest';
import { RoutingKeys, type HandlerResult } from '../src/index.ts';
import { sleep, useBus, waitFor } from './helpers.ts';

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

describe('prefetch and concurrency', () => {
  it('with concurrency 1 handlers never overlap and messages arrive in order', async () => {
    const { bus } = await useBus();
    const n = 15;
    for (let i = 0; i < n; i++) await bus.publish('inbound', RoutingKeys.inboundSlack, { i }, { messageId: `c1-${i}` });

    let active = 0;
    let maxActive = 0;
    const order: number[] = [];
    await bus.consume(
      'runnerInbound',
      async (m): Promise<HandlerResult> => {
        active++;
        maxActive = Math.max(maxActive, active);
        await sleep(10);
        order.push((m.body as { i: number }).i);
        active--;
        return 'ack';
      },
      { prefetch: 10, concurrency: 1 },
    );
    await waitFor(() => order.length === n, 'all messages');
    expect(maxActive).toBe(1);
    expect(order).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('runs up to `concurrency` handlers at once, and no more', async () => {
    const { bus } = await useBus();
    const n = 12;
    for (let i = 0; i < n; i++) await bus.publish('inbound', RoutingKeys.inboundSlack, { i }, { messageId: `c4-${i}` });

    let active = 0;
    let maxActive = 0;
    let done = 0;
    await bus.consume(
      'runnerInbound',
      async (): Promise<HandlerResult> => {
        active++;
        maxActive = Math.max(maxActive, active);
        await sleep(50);
        active--;
        done++;
        return 'ack';
      },
      { prefetch: 8, concurrency: 4 },
    );
    await waitFor(() => done === n, 'all messages');
    expect(maxActive).toBe(4);
  });

  it('the broker holds back everything beyond prefetch; extras wait client-side for a concurrency slot', async () => {
    const { bus, readyCount } = await useBus();
    const n = 10;
    for (let i = 0; i < n; i++) await bus.publish('inbound', RoutingKeys.inboundSlack, { i }, { messageId: `pf-${i}` });

    const release = gate();
    let started = 0;
    let done = 0;
    const sub = await bus.consume(
      'runnerInbound',
      async (): Promise<HandlerResult> => {
        started++;
        await release.opened;
        done++;
        return 'ack';
      },
      { prefetch: 5, concurrency: 2 },
    );

    await waitFor(() => started === 2 && sub.stats.prefetched === 3, '2 running + 3 buffered');
    await sleep(200);
    expect(started).toBe(2);
    expect(sub.stats.prefetched).toBe(3);
    expect(await readyCount(bus.names.queues.runnerInbound)).toBe(n - 5);

    release.open();
    await waitFor(() => done === n, 'all messages');
    expect(sub.stats.acknowledged).toBe(n);
  });

  it('rejects nonsensical prefetch/concurrency', async () => {
    const { bus } = await useBus();
    const h = async () => 'ack' as const;
    await expect(bus.consume('runnerInbound', h, { prefetch: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(bus.consume('runnerInbound', h, { prefetch: 5, concurrency: 6 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(bus.consume('runnerInbound', h, { concurrency: 1.5 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
