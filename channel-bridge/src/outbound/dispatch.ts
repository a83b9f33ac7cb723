import type { ChannelKind } from '@konstruct/core';
import type { BusMessage, HandlerResult } from '@konstruct/bus';

export type Deliver = (delivery: BusMessage) => Promise<HandlerResult>;

/**
 * The one consumer of `bridgeOutbound`: hands each reply to the sender of its channel, by the
 * reply's `channel.kind` (or, when the body has none, the routing key `outbound.<kind>`). The
 * senders validate the full contract themselves; what names no known channel is dead-lettered.
 */
export function createOutboundDispatcher(senders: Partial<Record<ChannelKind, Deliver>>): Deliver {
  return async (delivery) => {
    const kind = channelKindOf(delivery);
    const deliver = kind && Object.hasOwn(senders, kind) ? senders[kind as ChannelKind] : undefined;
    if (!deliver) return { deadLetter: `no sender for channel kind ${kind ? JSON.stringify(kind) : '(missing)'}` };
    return deliver(delivery);
  };
}

function channelKindOf(delivery: BusMessage): string | undefined {
  const fromBody = (delivery.body as { channel?: { kind?: unknown } } | null)?.channel?.kind;
  if (typeof fromBody === 'string') return fromBody;
  const m = /^outbound\.([a-z]+)$/.exec(delivery.routingKey);
  return m?.[1];
}
