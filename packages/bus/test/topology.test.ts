import { describe, it, expect, onTestFinished } from 'vitest';
import {
  BusError,
  connectBus,
  declareTopology,
  deleteTopology,
  Exchanges,
  Queues,
  topologyNames,
  topologySpec,
} from '../src/index.ts';
import { adminConnection, randomPrefix, RABBITMQ_URL } from './helpers.ts';

describe('topology', () => {
  it('derives every name from the prefix and leaves production names unprefixed', () => {
    expect(topologyNames()).toEqual({ prefix: '', exchanges: Exchanges, queues: Queues });
    expect(Exchanges).toEqual({ inbound: 'konstruct.inbound', outbound: 'konstruct.outbound', deadLetter: 'konstruct.dlx' });
    expect(Queues).toEqual({
      runnerInbound: 'konstruct.runner.inbound',
      bridgeOutbound: 'konstruct.bridge.outbound',
      deadLetter: 'konstruct.dead-letter',
    });
    const names = topologyNames('t-1.');
    for (const n of [...Object.values(names.exchanges), ...Object.values(names.queues)]) expect(n).toMatch(/^t-1\.konstruct\./);
    expect(() => topologyNames('bad prefix!')).toThrow(TypeError);
    expect(() => topologySpec({ deliveryLimit: -1 })).toThrow(TypeError);
  });

  it('declares idempotently, with quorum + at-least-once dead-lettering arguments that RabbitMQ enforces', async () => {
    const prefix = randomPrefix();
    const admin = await adminConnection();
    onTestFinished(async () => {
      await deleteTopology(admin, prefix);
      await admin.close();
    });

    const names = await declareTopology(admin, { prefix });
    await declareTopology(admin, { prefix });
    for (const queue of Object.values(names.queues)) await admin.queueDeclare({ queue, passive: true });
    for (const exchange of Object.values(names.exchanges)) await admin.exchangeDeclare({ exchange, passive: true });

    // RabbitMQ rejects re-declares with different arguments, which proves what is actually set.
    const q = names.queues.runnerInbound;
    const base = { 'x-queue-type': 'quorum' as const, 'x-dead-letter-exchange': names.exchanges.deadLetter, 'x-delivery-limit': 5 };
    await expect(
      admin.queueDeclare({ queue: q, durable: true, arguments: { ...base, 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' } }),
    ).resolves.toMatchObject({ queue: q });
    await expect(
      admin.queueDeclare({ queue: q, durable: true, arguments: { ...base, 'x-dead-letter-strategy': 'at-most-once', 'x-overflow': 'reject-publish' } }),
    ).rejects.toThrow(/inequivalent arg 'x-dead-letter-strategy'/);
    await expect(declareTopology(admin, { prefix, deliveryLimit: 9 })).rejects.toThrow(/inequivalent arg 'x-delivery-limit'/);
  });

  it('connectBus fails clearly when the existing topology has another delivery limit', async () => {
    const prefix = randomPrefix();
    const admin = await adminConnection();
    onTestFinished(async () => {
      await deleteTopology(admin, prefix);
      await admin.close();
    });
    await declareTopology(admin, { prefix, deliveryLimit: 3 });
    const err = await connectBus({ url: RABBITMQ_URL, prefix, deliveryLimit: 4, logger: silent }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusError);
    expect((err as BusError).code).toBe('TOPOLOGY');
    expect((err as BusError).message).toMatch(/x-delivery-limit/);
  });

  it('deleteTopology removes everything and refuses the production (empty) prefix', async () => {
    const prefix = randomPrefix();
    const admin = await adminConnection();
    onTestFinished(() => admin.close());
    const names = await declareTopology(admin, { prefix });
    await deleteTopology(admin, prefix);
    const ch = await admin.acquire();
    // A passive declare of a missing queue closes the channel with NOT_FOUND.
    await expect(ch.queueDeclare({ queue: names.queues.runnerInbound, passive: true })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(deleteTopology(admin, '')).rejects.toThrow(/non-empty prefix/);
  });
});

const silent = { info() {}, warn() {}, error() {} };
