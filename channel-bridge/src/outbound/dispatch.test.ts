import { describe, expect, it } from 'vitest';
import type { BusMessage, HandlerResult } from '@konstruct/bus';
import { createOutboundDispatcher } from './dispatch.ts';

const delivery = (body: unknown, routingKey = 'outbound.slack'): BusMessage => ({
  body,
  messageId: 'reply:1',
  headers: {},
  redelivered: false,
  deliveryCount: 0,
  routingKey,
  exchange: 'konstruct.outbound',
}) as BusMessage;

describe('createOutboundDispatcher', () => {
  const seen: string[] = [];
  const dispatch = createOutboundDispatcher({
    slack: async (): Promise<HandlerResult> => (seen.push('slack'), 'ack'),
    whatsapp: async (): Promise<HandlerResult> => (seen.push('whatsapp'), 'retry'),
  });

  it('routes by the reply’s channel.kind', async () => {
    expect(await dispatch(delivery({ channel: { kind: 'whatsapp' } }))).toBe('retry');
    expect(await dispatch(delivery({ channel: { kind: 'slack' } }, 'outbound.whatsapp'))).toBe('ack');
    expect(seen).toEqual(['whatsapp', 'slack']);
  });

  it('falls back to the routing key when the body names no channel', async () => {
    seen.length = 0;
    expect(await dispatch(delivery({ text: 'x' }, 'outbound.whatsapp'))).toBe('retry');
    expect(seen).toEqual(['whatsapp']);
  });

  it('dead-letters a reply for an unknown channel, never calling a sender', async () => {
    seen.length = 0;
    expect(await dispatch(delivery({ channel: { kind: 'telegram' } }))).toEqual({ deadLetter: 'no sender for channel kind "telegram"' });
    expect(await dispatch(delivery({ channel: { kind: 'constructor' } }))).toEqual({ deadLetter: 'no sender for channel kind "constructor"' });
    expect(await dispatch(delivery(null, 'weird'))).toEqual({ deadLetter: 'no sender for channel kind (missing)' });
    expect(seen).toEqual([]);
  });
});
