import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Bus } from '@konstruct/bus';
import type { KonstructMessageV1Input } from '@konstruct/core';
import { createInboundPublisher } from './publish.ts';
import type { InboundDecision, InboundLimiter } from '../limits/inbound-limiter.ts';

function recordingBus() {
  const calls: Array<{ op: 'publish' | 'defer'; exchange: string; routingKey: string; payload: any; options: any }> = [];
  const bus = {
    publish: async (exchange: string, routingKey: string, payload: unknown, options: unknown) => void calls.push({ op: 'publish', exchange, routingKey, payload, options }),
    defer: async (exchange: string, routingKey: string, payload: unknown, options: unknown) => void calls.push({ op: 'defer', exchange, routingKey, payload, options }),
  } as unknown as Bus;
  return { bus, calls };
}

const limiter = (d: InboundDecision): InboundLimiter => ({ decide: async () => d });

function message(): KonstructMessageV1Input {
  return {
    v: 1,
    id: randomUUID(),
    tenantId: randomUUID(),
    channel: { kind: 'whatsapp', connectionId: randomUUID(), address: '106540352242922' },
    conversation: { ref: 'whatsapp:106540352242922:16505551234' },
    externalId: 'wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=',
    sender: { externalId: '16505551234' },
    text: 'hello',
    thread: {},
    receivedAt: new Date().toISOString(),
  };
}

describe('createInboundPublisher', () => {
  it('publishes an admitted message at once, with the tenant header', async () => {
    const { bus, calls } = recordingBus();
    const m = message();
    const out = await createInboundPublisher({ bus, limiter: limiter({ outcome: 'admitted' }) })(m, { tenantId: m.tenantId, connectionId: m.channel.connectionId });
    expect(out).toEqual({ kind: 'published' });
    expect(calls).toEqual([
      { op: 'publish', exchange: 'inbound', routingKey: 'inbound.whatsapp', payload: m, options: { messageId: m.id, headers: { 'x-konstruct-tenant': m.tenantId } } },
    ]);
  });

  it('defers a message over a defer limit by the delay the limiter chose', async () => {
    const { bus, calls } = recordingBus();
    const m = message();
    const out = await createInboundPublisher({ bus, limiter: limiter({ outcome: 'deferred', delayMs: 2_500, limitedBy: 'connection' }) })(m, {
      tenantId: m.tenantId,
      connectionId: m.channel.connectionId,
    });
    expect(out).toEqual({ kind: 'deferred', delayMs: 2_500 });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ op: 'defer', routingKey: 'inbound.whatsapp', payload: m, options: { messageId: m.id, delayMs: 2_500 } });
  });

  it('hands a message over a busy limit on now, marked with the busy reply', async () => {
    const { bus, calls } = recordingBus();
    const m = message();
    const out = await createInboundPublisher({ bus, limiter: limiter({ outcome: 'busy', busyReply: 'Busy!', limitedBy: 'tenant' }) })(m, {
      tenantId: m.tenantId,
      connectionId: m.channel.connectionId,
    });
    expect(out).toEqual({ kind: 'busy' });
    expect(calls).toEqual([expect.objectContaining({ op: 'publish', payload: { ...m, control: { busyReply: 'Busy!' } } })]);
  });

  it('publishes nothing and throws when the limiter fails, so the route answers 5xx and the vendor retries', async () => {
    const { bus, calls } = recordingBus();
    const m = message();
    const failing: InboundLimiter = { decide: async () => Promise.reject(new Error('redis down')) };
    await expect(createInboundPublisher({ bus, limiter: failing })(m, { tenantId: m.tenantId, connectionId: m.channel.connectionId })).rejects.toThrow(
      'redis down',
    );
    expect(calls).toEqual([]);
  });
});
