import { Connection, ConsumerStatus } from 'rabbitmq-client';
import type { AsyncMessage, Consumer, Envelope, Publisher, ReturnedMessage, SyncMessage } from 'rabbitmq-client';
import { BusError } from './errors.ts';
import { errorCode, errorText, makeRedactor, redactUrl } from './redact.ts';
import {
  declareTopology,
  delayQueueDeclaration,
  delayTierFor,
  topologySpec,
  type ExchangeKey,
  type QueueKey,
  type TopologyNames,
} from './topology.ts';

/** pino-compatible subset, so `createLogger()` from @konstruct/core can be passed straight in. */
export interface BusLogger {
  debug?(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface BusOptions {
  /** e.g. `amqp://user:pass@127.0.0.1:5672`; the credentials never appear in errors or logs. */
  url: string;
  /** Isolates a whole topology (tests, benchmarks): every exchange and queue name starts with it. */
  prefix?: string;
  /** Returns allowed before RabbitMQ dead-letters a message (N → N + 1 deliveries). Default 5. */
  deliveryLimit?: number;
  logger?: BusLogger;
  /** How long `connectBus` keeps trying to reach the broker before rejecting. Default 5000. */
  connectTimeoutMs?: number;
  /** Shown in the RabbitMQ management UI. */
  connectionName?: string;
}

export interface PublishOptions {
  /** Required: consumers de-duplicate on it, and a redelivery carries the same id. */
  messageId: string;
  headers?: Record<string, unknown>;
}

export interface DeferOptions extends PublishOptions {
  /** The consumer handles the message no sooner than this many ms from now (at most 24 h). */
  delayMs: number;
}

export interface BusMessage {
  /** Parsed JSON. Bodies that are not JSON never reach a handler; they are dead-lettered. */
  body: unknown;
  messageId: string;
  headers: Record<string, unknown>;
  redelivered: boolean;
  /** Times this message was returned to the queue before (0 on the first delivery), from `x-delivery-count`. Delayed retries start a new count. */
  deliveryCount: number;
  /** Delayed retries (`{ retryAfterMs }`) this message has been through. */
  delayedRetries: number;
  /** As published, also after delayed retries (which travel through parking queues). */
  routingKey: string;
  exchange: string;
}

/**
 * - `'ack'`: done, remove it.
 * - `'retry'`: requeue at once; counts toward the delivery limit, after which RabbitMQ dead-letters it.
 * - `{ deadLetter: reason }`: permanent failure; moved to the dead-letter queue with the reason.
 * - `{ retryAfterMs, headers? }`: deliver again no sooner than that (rounded up by at most
 *   250 ms), without holding a consumer slot meanwhile: the message is parked in a delay queue
 *   and the original acked once the parked copy is confirmed. `headers` are merged into the
 *   copy, so a handler can carry its own state (e.g. a failure count) to the next attempt. The
 *   delivery limit does not apply; the handler decides when to give up.
 */
export type HandlerResult = 'ack' | 'retry' | { deadLetter: string } | DelayedRetry;

export interface DelayedRetry {
  retryAfterMs: number;
  headers?: Record<string, string | number | boolean>;
}
/**
 * Sync or async. TypeScript quirk: against this union an un-annotated `async () => 'ack'` is
 * inferred as `Promise<string>`; annotate async handlers `(m): Promise<HandlerResult> =>` (or
 * return `'ack' as const`).
 */
export type MessageHandler = (msg: BusMessage) => HandlerResult | Promise<HandlerResult>;

export interface ConsumeOptions {
  /** Unacked messages the broker may push to this consumer. Default 200. */
  prefetch?: number;
  /** Handlers running at once; must not exceed prefetch. Default: equal to prefetch. */
  concurrency?: number;
}

export interface ConsumerStats {
  acknowledged: number;
  requeued: number;
  /** Buffered client-side, waiting for a free concurrency slot. */
  prefetched: number;
}

export interface ConsumerHandle {
  readonly queue: string;
  readonly stats: ConsumerStats;
  /** Stops receiving, waits for running handlers to settle (and ack), then closes the channel. */
  close(): Promise<void>;
}

export interface DeadLetter {
  /** Raw body text (JSON for anything that was valid JSON). */
  body: string;
  headers: Record<string, unknown>;
  /** `x-konstruct-reason` when we dead-lettered it, else RabbitMQ's own (`delivery_limit`, `rejected`, …). */
  reason: string;
  messageId: string | undefined;
  routingKey: string;
}

export interface Bus {
  readonly names: TopologyNames;
  publish(exchange: ExchangeKey, routingKey: string, payload: unknown, options: PublishOptions): Promise<void>;
  /**
   * Publishes a message that the exchange's work queue (`inbound` → runnerInbound, `outbound` →
   * bridgeOutbound) hands to its consumer no sooner than `delayMs` from now — e.g. an inbound
   * message over its rate limit. It waits in the same parking tiers as a delayed retry (durable
   * quorum queues, publisher-confirmed), so it survives a broker restart; the consumer then sees
   * an ordinary first delivery with the routing key and exchange given here.
   */
  defer(exchange: ExchangeKey, routingKey: string, payload: unknown, options: DeferOptions): Promise<void>;
  consume(queue: QueueKey, handler: MessageHandler, options?: ConsumeOptions): Promise<ConsumerHandle>;
  /** Removes up to `max` messages from the dead-letter queue and returns them. */
  readDeadLetters(max?: number): Promise<DeadLetter[]>;
  /** Cheap, synchronous: is the connection up right now. */
  ping(): boolean;
  /** Readiness probe: throws unless the broker answers a round trip. Matches core's `ReadinessCheck`. */
  checkHealth(): Promise<void>;
  /** Drains consumers and in-flight publishes, then closes. After `timeoutMs` (default 30 s) the socket is destroyed; unacked messages return to their queues. */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

export const DeadLetterHeaders = {
  reason: 'x-konstruct-reason',
  sourceQueue: 'x-konstruct-source-queue',
  routingKey: 'x-konstruct-routing-key',
  failedAt: 'x-konstruct-failed-at',
} as const;

/** Set by the bus on a delayed retry; handlers see them, but the bus owns them. */
export const DelayHeaders = {
  /** Epoch ms before which the message is parked again instead of handled. */
  notBefore: 'x-konstruct-not-before',
  retries: 'x-konstruct-delayed-retries',
  routingKey: 'x-konstruct-original-routing-key',
  exchange: 'x-konstruct-original-exchange',
} as const;

// Broker-owned headers that must not follow a message into a new queue: a stale delivery count
// misleads, and an accumulated x-death history would make RabbitMQ's own reasons unreadable.
const BROKER_HEADERS = ['x-delivery-count', 'x-death', 'x-first-death-exchange', 'x-first-death-queue', 'x-first-death-reason', 'x-last-death-exchange', 'x-last-death-queue', 'x-last-death-reason'];
// A parked copy may come back this much early (timer granularity) and still be handled.
const NOT_BEFORE_SLACK_MS = 20;
const MAX_DELAY_MS = 24 * 3600 * 1000;

const DEFAULT_PREFETCH = 200;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;
const PUBLISH_ATTEMPTS = 3;
const SHORTSTR_MAX = 255;
// Header values are longstr and could be huge, but a reason is for humans; keep DLQ listings readable.
const REASON_MAX = 1_000;

const defaultLogger: BusLogger = {
  info: () => {},
  warn: (obj, msg) => console.warn(`[bus] ${msg ?? ''}`, obj),
  error: (obj, msg) => console.error(`[bus] ${msg ?? ''}`, obj),
};

export async function connectBus(options: BusOptions): Promise<Bus> {
  const logger = options.logger ?? defaultLogger;
  const redact = makeRedactor(options.url);
  const safeUrl = redactUrl(options.url);
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  // Validate before opening a socket so a bad prefix/limit is a plain TypeError, not a broker error.
  const spec = topologySpec({ prefix: options.prefix, deliveryLimit: options.deliveryLimit });
  const { names } = spec;

  let conn: Connection;
  try {
    conn = new Connection({
      url: options.url,
      connectionName: options.connectionName ?? 'konstruct-bus',
      // Per attempt; without it a black-holed host would hang one attempt past our startup deadline.
      connectionTimeout: connectTimeoutMs,
      // A publish is several small frames (method, header, body) written one after another: with
      // Nagle's algorithm on, the later ones wait for the broker's delayed ACK of the first, and a
      // confirmed publish took 40 ms instead of 1 ms whenever that happened (bench/RESULTS.md).
      noDelay: true,
    });
  } catch (err) {
    throw new BusError('INVALID_ARGUMENT', `invalid RabbitMQ URL ${safeUrl}: ${redact(errorText(err))}`);
  }

  const describe = (err: unknown) => ({ code: errorCode(err), message: redact(errorText(err)) });
  let started = false;
  // Always listening: an EventEmitter 'error' without a listener would crash the process.
  conn.on('error', (err) => {
    if (started) logger.warn({ url: safeUrl, err: describe(err) }, 'RabbitMQ connection error; reconnecting');
  });
  conn.on('connection', () => {
    if (started) logger.info({ url: safeUrl }, 'RabbitMQ connection re-established');
  });
  conn.on('connection.blocked', (reason) => logger.warn({ url: safeUrl, reason }, 'RabbitMQ is blocking publishers (resource alarm)'));
  conn.on('connection.unblocked', () => logger.info({ url: safeUrl }, 'RabbitMQ unblocked publishers'));

  await waitForFirstConnection(conn, connectTimeoutMs, safeUrl, redact);

  try {
    await declareTopology(conn, { prefix: spec.names.prefix, deliveryLimit: spec.deliveryLimit });
  } catch (err) {
    await conn.close().catch(() => {});
    throw new BusError('TOPOLOGY', `declaring the bus topology on ${safeUrl} failed: ${redact(errorText(err))}`);
  }
  started = true;
  logger.info({ url: safeUrl, prefix: names.prefix, deliveryLimit: spec.deliveryLimit }, 'message bus connected');

  const publisher = new ConfirmedPublisher(
    conn.createPublisher({
      confirm: true,
      // A publish caught by a dropped connection is retried on the next channel (waiting for the
      // reconnect). If the lost attempt had in fact landed, the retry duplicates it — acceptable
      // because every message carries a messageId that consumers de-duplicate on.
      maxAttempts: PUBLISH_ATTEMPTS,
      // Re-declared on every new channel so a reconnect to a reset broker still has exchanges.
      exchanges: spec.exchanges.filter((e) => e.exchange !== names.exchanges.deadLetter),
    }),
    redact,
  );
  const deadLetterPublisher = new ConfirmedPublisher(
    conn.createPublisher({
      confirm: true,
      maxAttempts: PUBLISH_ATTEMPTS,
      exchanges: spec.exchanges.filter((e) => e.exchange === names.exchanges.deadLetter),
      queues: spec.queues.filter((q) => q.queue === names.queues.deadLetter),
      queueBindings: spec.bindings.filter((b) => b.queue === names.queues.deadLetter),
    }),
    redact,
  );

  const consumers = new Set<Consumer>();
  const inflight = new Set<Promise<unknown>>();
  const startAborts = new Set<() => void>();
  let closing = false;
  let closePromise: Promise<void> | undefined;

  const assertOpen = () => {
    if (closing) throw new BusError('CLOSED', 'message bus is closed');
  };

  async function publish(exchangeKey: ExchangeKey, routingKey: string, payload: unknown, opts: PublishOptions): Promise<void> {
    assertOpen();
    if (exchangeKey !== 'inbound' && exchangeKey !== 'outbound') {
      throw new BusError('INVALID_ARGUMENT', `unknown exchange "${String(exchangeKey)}"; expected "inbound" or "outbound"`);
    }
    assertShortString('routingKey', routingKey, { allowEmpty: false });
    assertShortString('messageId', opts?.messageId, { allowEmpty: false });
    const body = serialize(payload, opts.messageId);
    const envelope: Envelope = {
      exchange: names.exchanges[exchangeKey],
      routingKey,
      mandatory: true,
      durable: true,
      contentType: 'application/json',
      messageId: opts.messageId,
      ...(opts.headers ? { headers: opts.headers } : {}),
    };
    const p = publisher.send(envelope, body);
    inflight.add(p);
    try {
      await p;
    } finally {
      inflight.delete(p);
    }
  }

  const deferQueuesDeclared = new Set<string>();
  async function defer(exchangeKey: ExchangeKey, routingKey: string, payload: unknown, opts: DeferOptions): Promise<void> {
    assertOpen();
    const delayMs = opts?.delayMs;
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
      throw new BusError('INVALID_ARGUMENT', `delayMs must be a non-negative number, got ${String(delayMs)}`);
    }
    if (delayMs <= NOT_BEFORE_SLACK_MS) return publish(exchangeKey, routingKey, payload, opts);
    if (exchangeKey !== 'inbound' && exchangeKey !== 'outbound') {
      throw new BusError('INVALID_ARGUMENT', `unknown exchange "${String(exchangeKey)}"; expected "inbound" or "outbound"`);
    }
    assertShortString('routingKey', routingKey, { allowEmpty: false });
    assertShortString('messageId', opts.messageId, { allowEmpty: false });
    const body = serialize(payload, opts.messageId);
    const wait = Math.min(delayMs, MAX_DELAY_MS);
    const declaration = delayQueueDeclaration(names, exchangeKey === 'inbound' ? 'runnerInbound' : 'bridgeOutbound', delayTierFor(wait));
    const parking = declaration.queue!;
    const envelope: Envelope = {
      exchange: '',
      routingKey: parking,
      mandatory: true,
      durable: true,
      contentType: 'application/json',
      messageId: opts.messageId,
      headers: {
        ...opts.headers,
        [DelayHeaders.notBefore]: Date.now() + wait,
        [DelayHeaders.routingKey]: routingKey,
        [DelayHeaders.exchange]: names.exchanges[exchangeKey],
      },
    };
    const send = async () => {
      for (let attempt = 0; ; attempt++) {
        if (!deferQueuesDeclared.has(parking)) {
          await conn.queueDeclare(declaration);
          deferQueuesDeclared.add(parking);
        }
        try {
          return await publisher.send(envelope, body);
        } catch (err) {
          // The parking queue was deleted behind our back (broker reset, ops): declare it again, once.
          if (attempt > 0 || !(err instanceof BusError && err.code === 'UNROUTABLE')) throw err;
          deferQueuesDeclared.delete(parking);
        }
      }
    };
    const p = send();
    inflight.add(p);
    try {
      await p;
    } finally {
      inflight.delete(p);
    }
  }

  async function consume(queueKey: QueueKey, handler: MessageHandler, opts: ConsumeOptions = {}): Promise<ConsumerHandle> {
    assertOpen();
    if (queueKey !== 'runnerInbound' && queueKey !== 'bridgeOutbound') {
      throw new BusError('INVALID_ARGUMENT', `unknown queue "${String(queueKey)}"; expected "runnerInbound" or "bridgeOutbound"`);
    }
    if (typeof handler !== 'function') throw new BusError('INVALID_ARGUMENT', 'handler must be a function');
    const prefetch = opts.prefetch ?? DEFAULT_PREFETCH;
    const concurrency = opts.concurrency ?? prefetch;
    if (!Number.isInteger(prefetch) || prefetch < 1 || prefetch > 65_535) {
      throw new BusError('INVALID_ARGUMENT', `prefetch must be an integer in 1..65535, got ${prefetch}`);
    }
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > prefetch) {
      // Above prefetch the extra slots could never fill: the broker stops at prefetch unacked messages.
      throw new BusError('INVALID_ARGUMENT', `concurrency must be an integer in 1..prefetch (${prefetch}), got ${concurrency}`);
    }

    const queue = names.queues[queueKey];
    const binding = spec.bindings.find((b) => b.queue === queue)!;
    const queueDeclaration = spec.queues.find((q) => q.queue === queue)!;

    const deadLetter = async (msg: AsyncMessage, raw: Buffer, reason: string, log: object): Promise<ConsumerStatus> => {
      const originalHeaders: Record<string, unknown> = { ...(msg.headers ?? {}) };
      // Broker-owned: the DLQ keeps its own count, and a stale one would mislead whoever replays it.
      delete originalHeaders['x-delivery-count'];
      const routingKey = originalRoutingKey(msg);
      const envelope: Envelope = {
        ...pickDefined(msg, ['contentType', 'contentEncoding', 'messageId', 'correlationId', 'type', 'appId', 'timestamp']),
        exchange: names.exchanges.deadLetter,
        routingKey,
        mandatory: true,
        durable: true,
        headers: {
          ...originalHeaders,
          [DeadLetterHeaders.reason]: reason.slice(0, REASON_MAX),
          [DeadLetterHeaders.sourceQueue]: queue,
          [DeadLetterHeaders.routingKey]: routingKey,
          [DeadLetterHeaders.failedAt]: new Date().toISOString(),
        },
      };
      try {
        await deadLetterPublisher.send(envelope, raw);
      } catch (err) {
        // Requeue rather than ack: the message is not safe anywhere else yet, and the delivery
        // limit still ends the loop via RabbitMQ's own dead-lettering.
        logger.error({ ...log, reason, err: describe(err) }, 'dead-lettering failed; requeueing');
        return ConsumerStatus.REQUEUE;
      }
      logger.warn({ ...log, reason }, 'message dead-lettered');
      return ConsumerStatus.ACK;
    };

    const declaredDelayQueues = new Set<string>();
    /** Publishes a copy to the parking tier for the next hop towards `notBefore`, then acks the original. */
    const park = async (msg: AsyncMessage, raw: Buffer, notBefore: number, extra: Record<string, unknown>, log: object): Promise<ConsumerStatus> => {
      const declaration = delayQueueDeclaration(names, queueKey, delayTierFor(notBefore - Date.now()));
      const delayQueue = declaration.queue!;
      const headers: Record<string, unknown> = { ...(msg.headers ?? {}) };
      for (const h of BROKER_HEADERS) delete headers[h];
      const envelope: Envelope = {
        ...pickDefined(msg, ['contentType', 'contentEncoding', 'messageId', 'correlationId', 'type', 'appId', 'timestamp']),
        exchange: '',
        routingKey: delayQueue,
        mandatory: true,
        durable: true,
        headers: {
          ...headers,
          ...extra,
          [DelayHeaders.notBefore]: notBefore,
          [DelayHeaders.routingKey]: originalRoutingKey(msg),
          [DelayHeaders.exchange]: originalExchange(msg),
        },
      };
      try {
        for (let attempt = 0; ; attempt++) {
          if (!declaredDelayQueues.has(delayQueue)) {
            await conn.queueDeclare(declaration);
            declaredDelayQueues.add(delayQueue);
          }
          try {
            await publisher.send(envelope, raw);
            break;
          } catch (err) {
            // Deleted behind our back (broker reset, ops): declare it again, once.
            if (attempt > 0 || !(err instanceof BusError && err.code === 'UNROUTABLE')) throw err;
            declaredDelayQueues.delete(delayQueue);
          }
        }
      } catch (err) {
        logger.error({ ...log, err: describe(err) }, 'parking a delayed retry failed; requeueing');
        return ConsumerStatus.REQUEUE;
      }
      return ConsumerStatus.ACK;
    };

    const onMessage = async (msg: AsyncMessage): Promise<ConsumerStatus> => {
      const headers: Record<string, unknown> = { ...(msg.headers ?? {}) };
      const deliveryCount = toCount(headers['x-delivery-count']);
      const routingKey = originalRoutingKey(msg);
      const log = { queue, messageId: msg.messageId, routingKey, deliveryCount };
      const decoded = decodeBody(msg);
      if (!decoded.ok) return deadLetter(msg, decoded.raw, decoded.reason, log);
      if (!msg.messageId) return deadLetter(msg, decoded.raw(), 'missing messageId', log);
      const notBefore = toCount(headers[DelayHeaders.notBefore]);
      if (notBefore > Date.now() + NOT_BEFORE_SLACK_MS) return park(msg, decoded.raw(), notBefore, {}, log);

      let result: unknown;
      try {
        result = await handler({
          body: decoded.value,
          messageId: msg.messageId,
          headers,
          redelivered: msg.redelivered,
          deliveryCount,
          delayedRetries: toCount(headers[DelayHeaders.retries]),
          routingKey,
          exchange: originalExchange(msg),
        });
      } catch (err) {
        logger.warn({ ...log, err: describe(err) }, 'message handler threw; requeueing');
        return ConsumerStatus.REQUEUE;
      }
      if (result === 'ack') return ConsumerStatus.ACK;
      if (result === 'retry') return ConsumerStatus.REQUEUE;
      if (isDeadLetterResult(result)) return deadLetter(msg, decoded.raw(), String(result.deadLetter), log);
      if (isDelayedRetry(result)) {
        const delayMs = Math.min(Math.max(0, result.retryAfterMs), MAX_DELAY_MS);
        const extra = { ...result.headers, [DelayHeaders.retries]: toCount(headers[DelayHeaders.retries]) + 1 };
        logger.debug?.({ ...log, delayMs }, 'delayed retry');
        return park(msg, decoded.raw(), Date.now() + delayMs, extra, log);
      }
      logger.error(
        { ...log, returned: typeof result },
        'message handler returned neither "ack", "retry", { deadLetter } nor { retryAfterMs }; requeueing',
      );
      return ConsumerStatus.REQUEUE;
    };

    const consumer = conn.createConsumer(
      {
        queue,
        // Re-declared after every reconnect with exactly the arguments declareTopology used.
        queueOptions: queueDeclaration,
        exchanges: spec.exchanges.filter((e) => e.exchange === binding.exchange || e.exchange === names.exchanges.deadLetter),
        queueBindings: [binding],
        qos: { prefetchCount: prefetch },
        concurrency,
        requeue: true,
      },
      onMessage,
    );
    consumers.add(consumer);
    consumer.on('error', (err) => {
      logger.error({ queue, err: describe(err) }, 'consumer error; the client re-subscribes automatically');
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const settle = (err?: unknown) => {
          consumer.off('ready', onReady);
          consumer.off('error', onError);
          startAborts.delete(onAbort);
          if (err === undefined) resolve();
          else reject(err);
        };
        const onReady = () => settle();
        const onError = (err: unknown) => settle(err ?? new Error('unknown consumer error'));
        // close() during setup can abort it before 'ready' is ever emitted; without this
        // consume() would hang forever.
        const onAbort = () => settle(new Error('message bus closed while the consumer was starting'));
        consumer.once('ready', onReady);
        consumer.once('error', onError);
        startAborts.add(onAbort);
      });
    } catch (err) {
      consumers.delete(consumer);
      await consumer.close().catch(() => {});
      throw new BusError(closing ? 'CLOSED' : 'CONSUMER_FAILED', `could not start consuming ${queue}: ${redact(errorText(err))}`);
    }

    return {
      queue,
      get stats() {
        const { acknowledged, requeued, prefetched } = consumer.stats;
        return { acknowledged, requeued, prefetched };
      },
      async close() {
        await consumer.close();
        consumers.delete(consumer);
      },
    };
  }

  async function readDeadLetters(max = 100): Promise<DeadLetter[]> {
    assertOpen();
    if (!Number.isInteger(max) || max < 0) throw new BusError('INVALID_ARGUMENT', `max must be a non-negative integer, got ${max}`);
    const out: DeadLetter[] = [];
    if (max === 0) return out;
    const ch = await conn.acquire();
    try {
      let lastTag: number | undefined;
      while (out.length < max) {
        const msg = await ch.basicGet({ queue: names.queues.deadLetter });
        if (!msg) break;
        out.push(toDeadLetter(msg));
        lastTag = msg.deliveryTag;
      }
      // One cumulative ack after collecting: if we crash halfway nothing is lost, only redelivered.
      if (lastTag !== undefined) ch.basicAck({ deliveryTag: lastTag, multiple: true });
    } finally {
      await ch.close();
    }
    return out;
  }

  async function checkHealth(): Promise<void> {
    assertOpen();
    if (!conn.ready) throw new BusError('UNREACHABLE', `RabbitMQ connection to ${safeUrl} is not ready`);
    try {
      await conn.queueDeclare({ queue: names.queues.deadLetter, passive: true });
    } catch (err) {
      throw new BusError('UNREACHABLE', `RabbitMQ at ${safeUrl} did not answer: ${redact(errorText(err))}`);
    }
  }

  function close(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (closePromise) return closePromise;
    closing = true;
    for (const abort of startAborts) abort();
    startAborts.clear();
    const timeoutMs = opts.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    closePromise = (async () => {
      const graceful = (async () => {
        // Consumers first: their handlers may still publish (replies, dead letters).
        await Promise.allSettled([...consumers].map((c) => c.close()));
        await Promise.allSettled([...inflight]);
        await Promise.allSettled([publisher.close(), deadLetterPublisher.close()]);
        await conn.close();
      })();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        graceful.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        logger.warn({ url: safeUrl, timeoutMs }, 'message bus did not drain in time; destroying the connection');
        conn.unsafeDestroy();
      } else {
        logger.info({ url: safeUrl }, 'message bus closed');
      }
    })();
    return closePromise;
  }

  return {
    names,
    publish,
    defer,
    consume,
    readDeadLetters,
    ping: () => !closing && conn.ready,
    checkHealth,
    close,
  };
}

/**
 * rabbitmq-client retries forever by design. At startup that would leave a misconfigured process
 * hanging silently, so we give it a deadline — but still ride out a broker that is a few seconds
 * from ready. Credential and vhost refusals fail at once: retrying cannot fix them.
 */
function waitForFirstConnection(
  conn: Connection,
  timeoutMs: number,
  safeUrl: string,
  redact: (s: string) => string,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let lastError: unknown;
    let settled = false;
    const finish = (failure?: BusError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.off('error', onError);
      conn.off('connection', onConnection);
      if (!failure) return resolve();
      // Close first so no reconnect timer or socket outlives the rejected promise.
      conn.close().then(
        () => reject(failure),
        () => reject(failure),
      );
    };
    const onConnection = () => finish();
    const onError = (err: unknown) => {
      lastError = err;
      const code = errorCode(err);
      if (code === 'ACCESS_REFUSED' || code === 'NOT_ALLOWED') finish(startupError(err, timeoutMs, safeUrl, redact));
    };
    const timer = setTimeout(() => finish(startupError(lastError, timeoutMs, safeUrl, redact)), timeoutMs);
    conn.on('error', onError);
    conn.on('connection', onConnection);
    if (conn.ready) finish();
  });
}

function startupError(err: unknown, timeoutMs: number, safeUrl: string, redact: (s: string) => string): BusError {
  const code = errorCode(err);
  if (code === 'ACCESS_REFUSED') {
    return new BusError('AUTH_FAILED', `RabbitMQ at ${safeUrl} refused the credentials (ACCESS_REFUSED)`);
  }
  if (code === 'NOT_ALLOWED') {
    return new BusError('AUTH_FAILED', `RabbitMQ at ${safeUrl} refused the virtual host (${redact(errorText(err))})`);
  }
  const detail = err === undefined ? `no answer within ${timeoutMs} ms` : (code ?? redact(errorText(err)));
  return new BusError('UNREACHABLE', `RabbitMQ is not reachable at ${safeUrl} (${detail})`);
}

/**
 * Publisher confirms alone do not reveal unroutable messages: RabbitMQ acks them after sending
 * basic.return. This pairs each confirm with any return for the same exchange/key/messageId.
 */
class ConfirmedPublisher {
  private readonly pending = new Map<string, Set<{ returned?: ReturnedMessage }>>();

  constructor(
    private readonly inner: Publisher,
    private readonly redact: (s: string) => string,
  ) {
    inner.on('basic.return', (msg) => {
      // Identical concurrent publishes route identically, so marking all of them is correct.
      for (const ticket of this.pending.get(returnKey(msg.exchange, msg.routingKey, msg.messageId)) ?? []) {
        ticket.returned = msg;
      }
    });
  }

  async send(envelope: Envelope, body: Buffer): Promise<void> {
    const exchange = envelope.exchange ?? '';
    const routingKey = envelope.routingKey ?? '';
    const key = returnKey(exchange, routingKey, envelope.messageId);
    const ticket: { returned?: ReturnedMessage } = {};
    let tickets = this.pending.get(key);
    if (!tickets) this.pending.set(key, (tickets = new Set()));
    tickets.add(ticket);
    try {
      try {
        await this.inner.send(envelope, body);
      } catch (err) {
        if (errorCode(err) === 'NACK') {
          throw new BusError('NACKED', `RabbitMQ rejected message ${envelope.messageId} for "${routingKey}" on "${exchange}" (basic.nack)`);
        }
        throw new BusError(
          'PUBLISH_FAILED',
          `publishing message ${envelope.messageId} to "${exchange}" failed: ${this.redact(errorText(err))}`,
        );
      }
      // basic.return precedes the ack on the wire, but the client emits returns via setImmediate
      // while resolving the confirm immediately; one macrotask later the return has been seen.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (ticket.returned) {
        throw new BusError(
          'UNROUTABLE',
          `no queue is bound for routing key "${routingKey}" on exchange "${exchange}" (message ${envelope.messageId}: ${ticket.returned.replyText})`,
        );
      }
    } finally {
      tickets.delete(ticket);
      if (tickets.size === 0) this.pending.delete(key);
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

function returnKey(exchange: string, routingKey: string, messageId: string | undefined): string {
  return `${exchange}\u0000${routingKey}\u0000${messageId ?? ''}`;
}

function assertShortString(name: string, value: unknown, { allowEmpty }: { allowEmpty: boolean }): asserts value is string {
  if (typeof value !== 'string' || (!allowEmpty && value.length === 0) || Buffer.byteLength(value) > SHORTSTR_MAX) {
    throw new BusError('INVALID_ARGUMENT', `${name} must be a non-empty string of at most ${SHORTSTR_MAX} bytes`);
  }
}

function serialize(payload: unknown, messageId: string): Buffer {
  let json: string | undefined;
  try {
    json = JSON.stringify(payload);
  } catch (err) {
    throw new BusError('INVALID_ARGUMENT', `payload of message ${messageId} cannot be serialized as JSON: ${errorText(err)}`);
  }
  if (json === undefined) {
    throw new BusError('INVALID_ARGUMENT', `payload of message ${messageId} is not JSON (undefined, a function or a symbol)`);
  }
  return Buffer.from(json, 'utf8');
}

type Decoded = { ok: true; value: unknown; raw: () => Buffer } | { ok: false; reason: string; raw: Buffer };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * rabbitmq-client has already JSON.parse'd `application/json` bodies and silently hands back the
 * raw Buffer when that parse fails, so a Buffer here means "not parsed" — never a valid payload.
 */
function decodeBody(msg: AsyncMessage): Decoded {
  const body: unknown = msg.body;
  if (msg.contentEncoding) {
    const raw = Buffer.isBuffer(body) ? body : Buffer.from(String(body), 'utf8');
    return { ok: false, reason: `invalid JSON: unsupported content-encoding "${msg.contentEncoding}"`, raw };
  }
  if (Buffer.isBuffer(body)) return parseRaw(body);
  if (typeof body === 'string' && msg.contentType === 'text/plain') return parseRaw(Buffer.from(body, 'utf8'));
  // Our own messages are produced by JSON.stringify, so re-serializing reproduces them byte for byte.
  return { ok: true, value: body, raw: () => Buffer.from(JSON.stringify(body), 'utf8') };
}

function parseRaw(raw: Buffer): Decoded {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    return { ok: false, reason: 'invalid JSON: body is not valid UTF-8', raw };
  }
  try {
    const value: unknown = JSON.parse(text);
    return { ok: true, value, raw: () => raw };
  } catch (err) {
    return { ok: false, reason: `invalid JSON: ${scrubJsonError(errorText(err))}`, raw };
  }
}

/**
 * V8 quotes a slice of the input in JSON errors ("…, "hello wor"... is not valid JSON"). Chat
 * bodies are user content, and the reason ends up in logs, so the slice is cut out.
 */
function scrubJsonError(message: string): string {
  return message.replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, ' (body excerpt omitted)');
}

function isDeadLetterResult(value: unknown): value is { deadLetter: string } {
  return typeof value === 'object' && value !== null && 'deadLetter' in value;
}

function isDelayedRetry(value: unknown): value is DelayedRetry {
  return (
    typeof value === 'object' &&
    value !== null &&
    'retryAfterMs' in value &&
    typeof value.retryAfterMs === 'number' &&
    Number.isFinite(value.retryAfterMs)
  );
}

/** A parked message comes back addressed to its queue; the headers remember where it was first sent. */
function originalRoutingKey(msg: AsyncMessage): string {
  const h = msg.headers?.[DelayHeaders.routingKey];
  return typeof h === 'string' ? h : msg.routingKey;
}

function originalExchange(msg: AsyncMessage): string {
  const h = msg.headers?.[DelayHeaders.exchange];
  return typeof h === 'string' ? h : msg.exchange;
}

function toCount(value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : 0;
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

function pickDefined<T extends object, K extends keyof T>(source: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (source[k] !== undefined && source[k] !== null) out[k] = source[k];
  return out;
}

function toDeadLetter(msg: SyncMessage): DeadLetter {
  const headers: Record<string, unknown> = { ...(msg.headers ?? {}) };
  const body: unknown = msg.body;
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : JSON.stringify(body);
  return { body: text, headers, reason: deadLetterReason(headers), messageId: msg.messageId, routingKey: msg.routingKey };
}

function deadLetterReason(headers: Record<string, unknown>): string {
  const own = headers[DeadLetterHeaders.reason];
  if (typeof own === 'string') return own;
  // x-death is most recent first; the first death of a message that went through a parking
  // queue is its harmless `expired` hop, not why it ended up here.
  const deaths = headers['x-death'];
  if (Array.isArray(deaths)) {
    const reason: unknown = (deaths[0] as { reason?: unknown } | undefined)?.reason;
    if (typeof reason === 'string') return reason;
  }
  const first = headers['x-first-death-reason'];
  if (typeof first === 'string') return first;
  return 'unknown';
}
