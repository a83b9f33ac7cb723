import type { KonstructMessageV1Input } from '@konstruct/core';
import type { Bus } from '@konstruct/bus';

/** The tenant and connection a webhook was resolved to. */
export interface InboundRoute {
  tenantId: string;
  connectionId: string;
}

export type InboundOutcome =
  /** On the bus for the runner now. */
  | { kind: 'published' }
  /** Over a rate limit: kept and handed to the runner later, or answered with the busy message. */
  | { kind: 'deferred'; delayMs: number }
  | { kind: 'busy' };

/**
 * The one way channel code hands a normalized message on. Channel routes call this after
 * verifying, parsing and deduplicating; it applies the tenant's and channel's limits and
 * publishes with a confirm. It throws when the message could not be made safe (the route
 * then answers 5xx so the vendor retries).
 */
export type PublishInbound = (message: KonstructMessageV1Input, route: InboundRoute) => Promise<InboundOutcome>;

export function createInboundPublisher(deps: { bus: Bus }): PublishInbound {
  return async (message, route) => {
    await deps.bus.publish('inbound', `inbound.${message.channel.kind}`, message, {
      messageId: message.id,
      headers: { 'x-konstruct-tenant': route.tenantId },
    });
    return { kind: 'published' };
  };
}
