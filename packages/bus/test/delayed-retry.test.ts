import { describe, it, expect } from 'vitest';
import { DelayHeaders, RoutingKeys, delayQueueName, type BusMessage, type HandlerResult } from '../src/index.ts';
import { delayTierFor } from '../src/topology.ts';
import { collectDeadLetters, sleep, useBus, waitFor } from './helpers.ts';

describe('delayed retries', () => {
  it('picks the largest parking tier that fits, never below the smallest', () => {
    expect(delayTierFor(0)).toBe(250);
    expect(delayTierFor(999)).toBe(500);
    expect(delayTierFor(1_000)).toBe(1_000);
    expect(delayTierFor(37_000)).toBe(32_000);
    expect(delayTierFor(3_600_000)).toBe(1_024_000);
  });

  it('delivers again no sooner than asked, with the handler headers, original routing key and a retry count', async () => {
    const { bus, readyCount } = await useBus();
    const seen: Array<{ at: number; msg: BusMessage }> = [];
    await bus.consume('bridgeOutbound', async (m): Promise<HandlerResult> => {
      seen.push({ at: Date.now(), msg: m });
      return seen.length === 1 ? { retryAfterMs: 1_300, headers: { 'x-app-failures': 1 } } : 'ack';
    });
    await bus.publish('outbound', RoutingKeys.outboundSlack, { n: 1 }, { messageId: 'd-1', headers: { tenant: 't1' } });

    await waitFor(() => seen.length >= 2, 'second delivery', 6_000);
    const [first, second] = seen;
    // 1 300 ms is a 1 000 ms hop and then a 250 ms one (the smallest tier rounds up the last 50).
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1_300 - 20);
    expect(second!.at - first!.at).toBeLessThan(1_300 + 1_000);
    expect(second!.msg.body).toEqual({ n: 1 });
    expect(second!.msg.messageId).toBe('d-1');
    expect(second!.msg.routingKey).toBe('outbound.slack');
    expect(second!.msg.exchange).toBe(bus.names.exchanges.outbound);
    expect(second!.msg.headers.tenant).toBe('t1');
    expect(second!.msg.headers['x-app-failures']).toBe(1);
    expect(second!.msg.delayedRetries).toBe(1);
    expect(first!.msg.delayedRetries).toBe(0);
    expect(second!.msg.deliveryCount).toBe(0);

    await sleep(300);
    expect(seen).toHaveLength(2);
    expect(await readyCount(bus.names.queues.bridgeOutbound)).toBe(0);
    expect(await readyCount(delayQueueName(bus.names, 'bridgeOutbound', 1_000))).toBe(0);
  });

  it('does not hold a consumer slot while a message waits: others are handled meanwhile', async () => {
    const { bus } = await useBus();
    const order: string[] = [];
    await bus.consume(
      'runnerInbound',
      async (m): Promise<HandlerResult> => {
        order.push(`${m.messageId}#${m.delayedRetries}`);
        return m.messageId === 'slow' && m.delayedRetries === 0 ? { retryAfterMs: 600 } : 'ack';
      },
      { prefetch: 1, concurrency: 1 },
    );
    await bus.publish('inbound', RoutingKeys.inboundSlack, {}, { messageId: 'slow' });
    for (let i = 0; i < 3; i++) await bus.publish('inbound', RoutingKeys.inboundSlack, {}, { messageId: `fast-${i}` });
    await waitFor(() => order.length >= 5, 'all deliveries', 5_000);
    expect(order).toEqual(['slow#0', 'fast-0#0', 'fast-1#0', 'fast-2#0', 'slow#1']);
  });

  it('a message dead-lettered after a delayed retry keeps its original routing key and the real reason', async () => {
    const { bus } = await useBus();
    await bus.consume('runnerInbound', async (m): Promise<HandlerResult> =>
      m.delayedRetries === 0 ? { retryAfterMs: 100 } : { deadLetter: 'gave up' },
    );
    await bus.publish('inbound', RoutingKeys.inboundWhatsapp, { x: 1 }, { messageId: 'dd-1' });
    const [dead] = await collectDeadLetters(bus, 1);
    expect(dead!.reason).toBe('gave up');
    expect(dead!.routingKey).toBe('inbound.whatsapp');
    expect(dead!.headers[DelayHeaders.retries]).toBe(1);
  });
});
