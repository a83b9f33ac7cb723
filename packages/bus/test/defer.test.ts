import { describe, it, expect } from 'vitest';
import { BusError, RoutingKeys, delayQueueName, type BusMessage, type HandlerResult } from '../src/index.ts';
import { delayQueueDeclaration } from '../src/topology.ts';
import { sleep, useBus, waitFor } from './helpers.ts';

describe('deferred publishing (over a rate limit)', () => {
  it('hands the message to the consumer no sooner than asked, as an ordinary first delivery', async () => {
    const { bus, readyCount } = await useBus();
    const seen: Array<{ at: number; msg: BusMessage }> = [];
    await bus.consume('runnerInbound', (m): HandlerResult => {
      seen.push({ at: Date.now(), msg: m });
      return 'ack';
    });
    const sent = Date.now();
    await bus.defer('inbound', RoutingKeys.inboundWhatsapp, { n: 1 }, { messageId: 'def-1', headers: { 'x-konstruct-tenant': 't1' }, delayMs: 1_200 });
    // Waiting in a parking queue, not in the work queue.
    expect(await readyCount(bus.names.queues.runnerInbound)).toBe(0);
    expect(await readyCount(delayQueueName(bus.names, 'runnerInbound', 1_000))).toBe(1);

    const [first] = await waitFor(() => seen.length >= 1 && seen, 'deferred delivery', 5_000);
    expect(first!.at - sent).toBeGreaterThanOrEqual(1_200 - 25);
    expect(first!.at - sent).toBeLessThan(1_200 + 2_000);
    expect(first!.msg).toMatchObject({
      body: { n: 1 },
      messageId: 'def-1',
      routingKey: 'inbound.whatsapp',
      exchange: bus.names.exchanges.inbound,
      deliveryCount: 0,
      delayedRetries: 0,
    });
    expect(first!.msg.headers['x-konstruct-tenant']).toBe('t1');
    await sleep(300);
    expect(seen).toHaveLength(1);
    expect(await bus.readDeadLetters()).toEqual([]);
  });

  it('does not hold a short deferral behind a long one', async () => {
    const { bus } = await useBus();
    const order: string[] = [];
    await bus.consume('runnerInbound', (m): HandlerResult => {
      order.push(m.messageId);
      return 'ack';
    });
    await bus.defer('inbound', RoutingKeys.inboundSlack, {}, { messageId: 'long', delayMs: 2_500 });
    await bus.defer('inbound', RoutingKeys.inboundSlack, {}, { messageId: 'short', delayMs: 300 });
    await bus.publish('inbound', RoutingKeys.inboundSlack, {}, { messageId: 'now' });
    await waitFor(() => order.length >= 2, 'two deliveries', 2_000);
    expect(order).toEqual(['now', 'short']);
    await waitFor(() => order.length >= 3, 'the long one', 5_000);
    expect(order).toEqual(['now', 'short', 'long']);
  });

  it('keeps deferred messages in durable quorum queues that RabbitMQ confirms', async () => {
    const { bus, admin } = await useBus();
    await bus.defer('inbound', RoutingKeys.inboundSlack, { x: 1 }, { messageId: 'durable-1', delayMs: 60_000 });
    const declared = delayQueueDeclaration(bus.names, 'runnerInbound', 32_000);
    const parking = declared.queue!;
    expect(parking).toBe(delayQueueName(bus.names, 'runnerInbound', 32_000));
    // A re-declare with other arguments is refused, which proves what the queue really is.
    await expect(admin.queueDeclare(declared)).resolves.toMatchObject({ queue: parking });
    const ch = await admin.acquire();
    await expect(ch.queueDeclare({ ...declared, arguments: { ...declared.arguments, 'x-queue-type': 'classic' } })).rejects.toThrow(
      /inequivalent arg 'x-queue-type'/,
    );
    const ch2 = await admin.acquire();
    await expect(ch2.queueDeclare({ ...declared, durable: false })).rejects.toThrow(/inequivalent arg 'durable'/);
    expect((await admin.queueDeclare({ queue: parking, passive: true })).messageCount).toBe(1);
  });

  it('publishes at once when the delay is negligible, and refuses nonsense', async () => {
    const { bus, readyCount } = await useBus();
    await bus.defer('inbound', RoutingKeys.inboundSlack, {}, { messageId: 'now-1', delayMs: 0 });
    expect(await readyCount(bus.names.queues.runnerInbound)).toBe(1);
    await expect(bus.defer('inbound', RoutingKeys.inboundSlack, {}, { messageId: 'bad', delayMs: Number.NaN })).rejects.toBeInstanceOf(BusError);
    await expect(bus.defer('inbound', RoutingKeys.inboundSlack, {}, { messageId: 'bad', delayMs: -5 })).rejects.toThrow(/non-negative/);
  });
});
