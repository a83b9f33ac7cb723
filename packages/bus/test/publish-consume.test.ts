import { randomUUID } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import { BusError, RoutingKeys, type BusMessage, type HandlerResult } from '../src/index.ts';
import { collectDeadLetters, sleep, useBus, waitFor } from './helpers.ts';

describe('publish → consume', () => {
  it('round-trips a confirmed message to the runner queue with id, headers and delivery metadata', async () => {
    const { bus, readyCount } = await useBus();
    const received: BusMessage[] = [];
    const sub = await bus.consume('runnerInbound', async (m): Promise<HandlerResult> => {
      received.push(m);
      return 'ack';
    });

    const payload = { v: 1, text: 'héllo 👋', n: 42, nested: { list: [1, 'two', null] } };
    const messageId = randomUUID();
    await bus.publish('inbound', RoutingKeys.inboundSlack, payload, {
      messageId,
      headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    });

    const [msg] = await waitFor(() => received.length === 1 && received, 'delivery');
    expect(msg!.body).toEqual(payload);
    expect(msg!.messageId).toBe(messageId);
    expect(msg!.headers.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(msg!.deliveryCount).toBe(0);
    expect(msg!.redelivered).toBe(false);
    expect(msg!.routingKey).toBe('inbound.slack');
    expect(msg!.exchange).toBe(bus.names.exchanges.inbound);

    await sub.close();
    expect(sub.stats.acknowledged).toBe(1);
    expect(await readyCount(bus.names.queues.runnerInbound)).toBe(0);
    expect(await bus.readDeadLetters(10)).toEqual([]);
  });

  it('routes outbound messages only to the bridge queue', async () => {
    const { bus, readyCount } = await useBus();
    await bus.publish('outbound', RoutingKeys.outboundWhatsapp, { reply: 'hi' }, { messageId: 'o-1' });
    expect(await readyCount(bus.names.queues.bridgeOutbound)).toBe(1);
    expect(await readyCount(bus.names.queues.runnerInbound)).toBe(0);

    const got: unknown[] = [];
    // Synchronous handlers are allowed too.
    await bus.consume('bridgeOutbound', (m) => {
      got.push(m.body);
      return 'ack';
    });
    await waitFor(() => got.length === 1, 'outbound delivery');
    expect(got).toEqual([{ reply: 'hi' }]);
  });

  it('rejects a publish that no queue is bound for, and keeps publishing afterwards', async () => {
    const { bus, readyCount } = await useBus();

    const err = await bus.publish('inbound', 'nowhere.slack', { x: 1 }, { messageId: 'lost-1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusError);
    expect((err as BusError).code).toBe('UNROUTABLE');
    expect((err as BusError).message).toContain('"nowhere.slack"');
    expect((err as BusError).message).toContain(bus.names.exchanges.inbound);

    // The inbound key is not bound on the outbound exchange.
    await expect(bus.publish('outbound', RoutingKeys.inboundSlack, {}, { messageId: 'lost-2' })).rejects.toMatchObject({
      code: 'UNROUTABLE',
    });

    // Same messageId, one routable and one not, concurrently: each outcome must be its own.
    const [ok, lost] = await Promise.allSettled([
      bus.publish('inbound', RoutingKeys.inboundWhatsapp, { x: 2 }, { messageId: 'same-id' }),
      bus.publish('inbound', 'nowhere.whatsapp', { x: 2 }, { messageId: 'same-id' }),
    ]);
    expect(ok.status).toBe('fulfilled');
    expect(lost.status).toBe('rejected');
    expect(await readyCount(bus.names.queues.runnerInbound)).toBe(1);
  });

  it('validates publish arguments before touching the broker', async () => {
    const { bus } = await useBus();
    await expect(bus.publish('inbound', 'inbound.slack', {}, { messageId: '' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(bus.publish('inbound', 'inbound.slack', undefined, { messageId: 'u' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(bus.publish('inbound', 'inbound.slack', { n: 1n }, { messageId: 'b' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(
      bus.publish('sideways' as 'inbound', 'inbound.slack', {}, { messageId: 's' }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('treats a throwing handler as retry and logs it', async () => {
    const { bus, logger } = await useBus();
    const seen: Array<{ deliveryCount: number; redelivered: boolean }> = [];
    await bus.consume('runnerInbound', async (m): Promise<HandlerResult> => {
      seen.push({ deliveryCount: m.deliveryCount, redelivered: m.redelivered });
      if (seen.length === 1) throw new Error('boom');
      return 'ack';
    });
    await bus.publish('inbound', RoutingKeys.inboundSlack, { a: 1 }, { messageId: 'throw-1' });
    await waitFor(() => seen.length === 2, 'redelivery');
    expect(seen).toEqual([
      { deliveryCount: 0, redelivered: false },
      { deliveryCount: 1, redelivered: true },
    ]);
    const warn = logger.entries.find((e) => e.level === 'warn' && e.msg?.includes('handler threw'));
    expect(warn?.obj).toMatchObject({ messageId: 'throw-1', err: { message: 'boom' } });
    await sleep(100);
    expect(seen).toHaveLength(2);
    expect(await bus.readDeadLetters(10)).toEqual([]);
  });

  it('close() waits for running handlers to finish and ack; afterwards the bus refuses work', async () => {
    const { bus, readyCount } = await useBus();
    let started = false;
    let finished = false;
    await bus.consume('runnerInbound', async (): Promise<HandlerResult> => {
      started = true;
      await sleep(300);
      finished = true;
      return 'ack';
    });
    await bus.publish('inbound', RoutingKeys.inboundSlack, {}, { messageId: 'drain-1' });
    await waitFor(() => started, 'handler start');
    expect(bus.ping()).toBe(true);

    await bus.close();
    expect(finished).toBe(true);
    expect(bus.ping()).toBe(false);
    await expect(bus.publish('inbound', RoutingKeys.inboundSlack, {}, { messageId: 'late' })).rejects.toMatchObject({
      code: 'CLOSED',
    });
    // Acked before the channel closed, so nothing went back to the queue.
    expect(await readyCount(bus.names.queues.runnerInbound)).toBe(0);
  });

  it('reports health while connected', async () => {
    const { bus } = await useBus();
    expect(bus.ping()).toBe(true);
    await expect(bus.checkHealth()).resolves.toBeUndefined();
  });

  it('survives dead-lettering many messages in parallel (smoke)', async () => {
    const { bus } = await useBus();
    await bus.consume('runnerInbound', async (m) => ({ deadLetter: `bad ${String((m.body as { i: number }).i)}` }), {
      prefetch: 20,
      concurrency: 10,
    });
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => bus.publish('inbound', RoutingKeys.inboundSlack, { i }, { messageId: `p-${i}` })),
    );
    const dead = await collectDeadLetters(bus, 50);
    expect(new Set(dead.map((d) => d.reason)).size).toBe(50);
  });
});
