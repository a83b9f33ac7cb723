import { describe, it, expect } from 'vitest';
import { DeadLetterHeaders, RoutingKeys, type HandlerResult } from '../src/index.ts';
import { collectDeadLetters, sleep, useBus, waitFor } from './helpers.ts';

describe('dead-lettering', () => {
  it('a message the handler keeps retrying is dead-lettered by RabbitMQ after the delivery limit', async () => {
    const { bus, readyCount } = await useBus({ deliveryLimit: 2 });
    const counts: number[] = [];
    await bus.consume('runnerInbound', async (m): Promise<HandlerResult> => {
      counts.push(m.deliveryCount);
      return 'retry';
    });
    const payload = { text: 'poison' };
    await bus.publish('inbound', RoutingKeys.inboundSlack, payload, { messageId: 'poison-1', headers: { tenant: 't1' } });

    const [dead] = await collectDeadLetters(bus, 1);
    // A limit of 2 allows the first delivery plus two redeliveries.
    expect(counts).toEqual([0, 1, 2]);
    expect(dead!.reason).toBe('delivery_limit');
    expect(JSON.parse(dead!.body)).toEqual(payload);
    expect(dead!.messageId).toBe('poison-1');
    expect(dead!.headers.tenant).toBe('t1');
    expect(dead!.routingKey).toBe('inbound.slack');

    await sleep(100);
    expect(counts).toHaveLength(3);
    expect(await readyCount(bus.names.queues.runnerInbound)).toBe(0);
  });

  it('{ deadLetter: reason } moves the message to the DLQ with the reason and provenance headers', async () => {
    const { bus, readyCount } = await useBus();
    let calls = 0;
    await bus.consume('runnerInbound', async (): Promise<HandlerResult> => {
      calls++;
      return { deadLetter: 'tenant 42 not found' };
    });
    const before = Date.now();
    const payload = { tenantId: '42', text: 'hello' };
    await bus.publish('inbound', RoutingKeys.inboundWhatsapp, payload, { messageId: 'dl-1', headers: { tenant: '42' } });

    const [dead] = await collectDeadLetters(bus, 1);
    expect(calls).toBe(1);
    expect(dead!.reason).toBe('tenant 42 not found');
    expect(dead!.headers[DeadLetterHeaders.reason]).toBe('tenant 42 not found');
    expect(dead!.headers[DeadLetterHeaders.sourceQueue]).toBe(bus.names.queues.runnerInbound);
    expect(dead!.headers[DeadLetterHeaders.routingKey]).toBe('inbound.whatsapp');
    const failedAt = Date.parse(String(dead!.headers[DeadLetterHeaders.failedAt]));
    expect(failedAt).toBeGreaterThanOrEqual(before - 1_000);
    expect(failedAt).toBeLessThanOrEqual(Date.now() + 1_000);
    expect(dead!.headers.tenant).toBe('42');
    expect(dead!.body).toBe(JSON.stringify(payload));
    expect(dead!.messageId).toBe('dl-1');
    // Acked after the dead-letter confirm, so nothing is left behind or redelivered.
    await sleep(100);
    expect(calls).toBe(1);
    expect(await readyCount(bus.names.queues.runnerInbound)).toBe(0);
  });

  it('bodies that are not JSON, or lack a messageId, never reach the handler and land in the DLQ with a reason', async () => {
    const { bus, admin } = await useBus();
    const handled: unknown[] = [];
    await bus.consume('runnerInbound', async (m): Promise<HandlerResult> => {
      handled.push(m.body);
      return 'ack';
    });

    const exchange = bus.names.exchanges.inbound;
    const routingKey = RoutingKeys.inboundSlack;
    const ch = await admin.acquire();
    try {
      await ch.confirmSelect();
      // Claims JSON but is not: the client library hands these over unparsed.
      await ch.basicPublish({ exchange, routingKey, messageId: 'bad-json', contentType: 'application/json' }, Buffer.from('{"text": oops, secret stuff}'));
      // No content type at all.
      await ch.basicPublish({ exchange, routingKey, messageId: 'bad-raw' }, Buffer.from('plain words'));
      // A string body is sent as text/plain.
      await ch.basicPublish({ exchange, routingKey, messageId: 'bad-text' }, 'hello there');
      await ch.basicPublish({ exchange, routingKey, messageId: 'bad-utf8' }, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
      await ch.basicPublish({ exchange, routingKey, messageId: 'bad-empty', contentType: 'application/json' }, Buffer.alloc(0));
      await ch.basicPublish({ exchange, routingKey, contentType: 'application/json' }, Buffer.from('{"no":"id"}'));
      // Valid JSON without the content type is accepted: proves the consumer ran through all of them.
      await ch.basicPublish({ exchange, routingKey, messageId: 'good-raw' }, Buffer.from('{"ok":true}'));
    } finally {
      await ch.close();
    }

    const dead = await collectDeadLetters(bus, 6);
    await waitFor(() => handled.length === 1, 'the valid message');
    expect(handled).toEqual([{ ok: true }]);

    const byId = new Map(dead.map((d) => [d.messageId ?? '(none)', d]));
    expect([...byId.keys()].sort()).toEqual(['(none)', 'bad-empty', 'bad-json', 'bad-raw', 'bad-text', 'bad-utf8']);
    for (const id of ['bad-json', 'bad-raw', 'bad-text', 'bad-empty']) {
      expect(byId.get(id)!.reason, id).toMatch(/^invalid JSON: /);
    }
    expect(byId.get('bad-utf8')!.reason).toBe('invalid JSON: body is not valid UTF-8');
    expect(byId.get('(none)')!.reason).toBe('missing messageId');

    // Bytes survive untouched.
    expect(byId.get('bad-json')!.body).toBe('{"text": oops, secret stuff}');
    expect(byId.get('bad-raw')!.body).toBe('plain words');
    expect(byId.get('bad-text')!.body).toBe('hello there');
    expect(byId.get('bad-empty')!.body).toBe('');
    expect(byId.get('bad-json')!.headers[DeadLetterHeaders.sourceQueue]).toBe(bus.names.queues.runnerInbound);
    // The reason is logged, so it must not quote the (possibly personal) body.
    expect(byId.get('bad-json')!.reason).not.toContain('secret');
  });

  it('readDeadLetters removes what it returns and honours max', async () => {
    const { bus, readyCount } = await useBus();
    await bus.consume('runnerInbound', async () => ({ deadLetter: 'nope' }));
    for (let i = 0; i < 5; i++) await bus.publish('inbound', RoutingKeys.inboundSlack, { i }, { messageId: `r-${i}` });
    await waitFor(async () => (await readyCount(bus.names.queues.deadLetter)) === 5, '5 dead letters');

    const first = await bus.readDeadLetters(3);
    expect(first.map((d) => d.messageId)).toEqual(['r-0', 'r-1', 'r-2']);
    const rest = await bus.readDeadLetters(10);
    expect(rest.map((d) => d.messageId)).toEqual(['r-3', 'r-4']);
    expect(await bus.readDeadLetters(10)).toEqual([]);
    expect(await readyCount(bus.names.queues.deadLetter)).toBe(0);
  });
});
