import type { Connection, MethodParams, Cmd } from 'rabbitmq-client';

type ExchangeDeclare = MethodParams[Cmd.ExchangeDeclare];
type QueueDeclare = MethodParams[Cmd.QueueDeclare];
type QueueBind = MethodParams[Cmd.QueueBind];

/** Unprefixed production names. Use `topologyNames(prefix)` when a prefix is in play. */
export const Exchanges = {
  inbound: 'konstruct.inbound',
  outbound: 'konstruct.outbound',
  deadLetter: 'konstruct.dlx',
} as const;

export const Queues = {
  runnerInbound: 'konstruct.runner.inbound',
  bridgeOutbound: 'konstruct.bridge.outbound',
  deadLetter: 'konstruct.dead-letter',
} as const;

/**
 * Routing keys are not prefixed: isolation comes from the prefixed exchanges, and keeping the
 * keys identical everywhere means producers never need to know which topology they talk to.
 */
export const RoutingKeys = {
  inboundSlack: 'inbound.slack',
  inboundWhatsapp: 'inbound.whatsapp',
  outboundSlack: 'outbound.slack',
  outboundWhatsapp: 'outbound.whatsapp',
  allInbound: 'inbound.#',
  allOutbound: 'outbound.#',
  /** The dead-letter exchange is a topic exchange so the original routing key survives and ops can filter by channel later. */
  everything: '#',
} as const;

export type ExchangeKey = 'inbound' | 'outbound';
export type QueueKey = 'runnerInbound' | 'bridgeOutbound';

/** `routingKeyFor('inbound', 'slack')` → `inbound.slack`. */
export function routingKeyFor(direction: ExchangeKey, channelKind: string): string {
  return `${direction}.${channelKind}`;
}

export const DEFAULT_DELIVERY_LIMIT = 5;

export interface TopologyOptions {
  /** Prepended to every exchange and queue name, e.g. `test-abc.`; empty in production. */
  prefix?: string;
  /**
   * How many times a message may be returned (nack+requeue, or channel closed while unacked)
   * before RabbitMQ dead-letters it: a limit of N allows N + 1 deliveries.
   */
  deliveryLimit?: number;
}

export interface TopologyNames {
  prefix: string;
  exchanges: { [K in keyof typeof Exchanges]: string };
  queues: { [K in keyof typeof Queues]: string };
}

export interface TopologySpec {
  names: TopologyNames;
  deliveryLimit: number;
  exchanges: ExchangeDeclare[];
  queues: QueueDeclare[];
  bindings: QueueBind[];
}

// AMQP names are shortstr (255 bytes); the longest base name is ~25 chars.
const PREFIX_PATTERN = /^[A-Za-z0-9._:-]{0,200}$/;

export function topologyNames(prefix = ''): TopologyNames {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new TypeError(`invalid topology prefix ${JSON.stringify(prefix)}: use at most 200 of [A-Za-z0-9._:-]`);
  }
  if (prefix.startsWith('amq.')) throw new TypeError('topology prefix must not start with "amq." (reserved by RabbitMQ)');
  const map = <T extends Record<string, string>>(o: T) =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, prefix + v])) as { [K in keyof T]: string };
  return { prefix, exchanges: map(Exchanges), queues: map(Queues) };
}

/**
 * The full declaration list. Exposed so the consumer and publisher channels can re-declare exactly
 * the same things after a reconnect: RabbitMQ rejects a re-declare whose arguments differ, so there
 * must be one source of truth for them.
 */
export function topologySpec(opts: TopologyOptions = {}): TopologySpec {
  const names = topologyNames(opts.prefix);
  const deliveryLimit = opts.deliveryLimit ?? DEFAULT_DELIVERY_LIMIT;
  if (!Number.isInteger(deliveryLimit) || deliveryLimit < 0) {
    throw new TypeError(`deliveryLimit must be a non-negative integer, got ${deliveryLimit}`);
  }

  const workQueueArguments = {
    'x-queue-type': 'quorum' as const,
    'x-dead-letter-exchange': names.exchanges.deadLetter,
    'x-delivery-limit': deliveryLimit,
    // at-least-once instead of the at-most-once default: with at-most-once RabbitMQ drops a
    // poison message for good if the dead-letter queue is missing or unavailable at that
    // moment. Verified on RabbitMQ 3.10.8 (with an unbound DLX the message stayed in the source
    // queue instead of vanishing, and it is delivered to the DLQ normally when bound).
    // RabbitMQ silently falls back to at-most-once unless overflow is reject-publish. We set no
    // x-max-length, so reject-publish never actually rejects a publish. Trade-off: a message
    // whose dead-lettering keeps failing stays in the source queue (not deliverable, but counted)
    // until the DLQ is back; RabbitMQ retries in the background.
    'x-dead-letter-strategy': 'at-least-once',
    'x-overflow': 'reject-publish' as const,
  };

  const exchanges: ExchangeDeclare[] = [
    { exchange: names.exchanges.inbound, type: 'topic', durable: true },
    { exchange: names.exchanges.outbound, type: 'topic', durable: true },
    { exchange: names.exchanges.deadLetter, type: 'topic', durable: true },
  ];
  const queues: QueueDeclare[] = [
    // No delivery limit or DLX on the dead-letter queue itself: it is the end of the line and
    // is drained by humans/ops tooling, not by retrying consumers.
    { queue: names.queues.deadLetter, durable: true, arguments: { 'x-queue-type': 'quorum' } },
    { queue: names.queues.runnerInbound, durable: true, arguments: { ...workQueueArguments } },
    { queue: names.queues.bridgeOutbound, durable: true, arguments: { ...workQueueArguments } },
  ];
  const bindings: QueueBind[] = [
    { queue: names.queues.deadLetter, exchange: names.exchanges.deadLetter, routingKey: RoutingKeys.everything },
    { queue: names.queues.runnerInbound, exchange: names.exchanges.inbound, routingKey: RoutingKeys.allInbound },
    { queue: names.queues.bridgeOutbound, exchange: names.exchanges.outbound, routingKey: RoutingKeys.allOutbound },
  ];
  return { names, deliveryLimit, exchanges, queues, bindings };
}

/**
 * Parking queues for delayed retries (`{ retryAfterMs }` from a handler). RabbitMQ only expires
 * messages at the head of a queue, so one queue with per-message TTLs would hold a 1 s retry
 * behind a 10 min one; instead every queue has one fixed TTL, and a delay is made of hops through
 * the largest tiers that fit (each hop dead-letters back to the work queue, which re-parks the
 * message until its not-before time). Doubling tiers keep that to about one hop per tier.
 */
export const DELAY_TIERS_MS = [250, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 512_000, 1_024_000] as const;

/** The tier for the next hop of a delay with `remainingMs` to go. */
export function delayTierFor(remainingMs: number): number {
  let tier: number = DELAY_TIERS_MS[0];
  for (const t of DELAY_TIERS_MS) if (t <= remainingMs) tier = t;
  return tier;
}

export function delayQueueName(names: TopologyNames, queue: QueueKey, tierMs: number): string {
  return `${names.queues[queue]}.delay.${tierMs}ms`;
}

/**
 * Declared lazily, on a queue's first delayed retry: most topologies (and every test prefix)
 * never need most tiers. Expired messages go straight back to the work queue through the default
 * exchange, so no other queue bound to the work exchange sees them twice.
 */
export function delayQueueDeclaration(names: TopologyNames, queue: QueueKey, tierMs: number): QueueDeclare {
  return {
    queue: delayQueueName(names, queue, tierMs),
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-message-ttl': tierMs,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': names.queues[queue],
      // Same reasoning as the work queues: an expired message must not be dropped on the way back.
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
    },
  };
}

/**
 * Idempotent: safe to run on every process start. Fails with PRECONDITION_FAILED if a queue
 * already exists with different arguments (e.g. another delivery limit) — RabbitMQ cannot change
 * queue arguments in place; delete the queue or move the setting to a policy.
 */
export async function declareTopology(conn: Connection, opts: TopologyOptions = {}): Promise<TopologyNames> {
  const spec = topologySpec(opts);
  await Promise.all(spec.exchanges.map((e) => conn.exchangeDeclare(e)));
  // Sequential so a failure names the first offending queue instead of a race of channel errors.
  for (const q of spec.queues) await conn.queueDeclare(q);
  for (const b of spec.bindings) await conn.queueBind(b);
  return spec.names;
}

/** Removes a prefixed topology, messages included. Refuses the empty prefix so test cleanup can never wipe production. */
export async function deleteTopology(conn: Connection, prefix: string): Promise<void> {
  if (!prefix) throw new TypeError('deleteTopology requires a non-empty prefix; refusing to delete the production topology');
  const names = topologyNames(prefix);
  const delayQueues = (['runnerInbound', 'bridgeOutbound'] as const).flatMap((q) => DELAY_TIERS_MS.map((t) => delayQueueName(names, q, t)));
  // Deleting a queue that was never declared is a no-op in RabbitMQ.
  await Promise.all([...Object.values(names.queues), ...delayQueues].map((queue) => conn.queueDelete({ queue })));
  await Promise.all(Object.values(names.exchanges).map((exchange) => conn.exchangeDelete({ exchange })));
}
