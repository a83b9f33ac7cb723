import type { KonstructMessageV1Input, Logger } from '@konstruct/core';
import type { Bus } from '@konstruct/bus';
import type { InboundLimiter } from '../limits/inbound-limiter.ts';

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

export interface InboundPublisherDeps {
  bus: Bus;
  /** The tenant's and channel's rate limits; without one every message is published at once. */
  limiter?: InboundLimiter;
  logger?: Logger;
}

/**
 * Over a limit nothing is dropped: a deferred message waits on the bus (durable, confirmed) and
 * reaches the runner when its reserved slot comes; a busy one reaches the runner now, marked so
 * it is recorded and answered with the busy text instead of the model.
 */
export function createInboundPublisher(deps: InboundPublisherDeps): PublishInbound {
  const log = deps.logger?.child({ source: 'inbound-publish' });
  return async (message, route) => {
    const routingKey = `inbound.${message.channel.kind}`;
    const options = { messageId: message.id, headers: { 'x-konstruct-tenant': route.tenantId } };
    const decision = deps.limiter ? await deps.limiter.decide(route) : ({ outcome: 'admitted' } as const);
    switch (decision.outcome) {
      case 'admitted':
        await deps.bus.publish('inbound', routingKey, message, options);
        return { kind: 'published' };
      case 'deferred':
        await deps.bus.defer('inbound', routingKey, message, { ...options, delayMs: decision.delayMs });
        log?.info({ ...route, messageId: message.id, delayMs: decision.delayMs, limitedBy: decision.limitedBy }, 'over the rate limit; message deferred');
        return { kind: 'deferred', delayMs: decision.delayMs };
      case 'busy':
        await deps.bus.publish('inbound', routingKey, { ...message, control: { ...message.control, busyReply: decision.busyReply } }, options);
        log?.info({ ...route, messageId: message.id, limitedBy: decision.limitedBy }, 'over the rate limit; busy message requested');
        return { kind: 'busy' };
    }
  };
}
