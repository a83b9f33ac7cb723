import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { KonstructMessageV1, Logger } from '@konstruct/core';
import type { HandlerResult } from '@konstruct/bus';

/** Deletes the lock only if it is still ours (it may have expired and been taken by another runner). */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
/** Extends the lock only if it is still ours. */
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

export interface ConversationOrderOptions {
  /**
   * Lifetime of the lock, renewed every third of it while the turn runs: a runner that dies
   * holds its conversation at most this long. Short, so a crash delays a conversation by
   * seconds; the renewal keeps long turns (retries, tool steps) covered.
   */
  lockMs: number;
  /** How long a message whose conversation is busy in another runner waits before it is delivered again. */
  retryMs: number;
}

/**
 * One conversation's messages are handled one at a time and in delivery order, while
 * different conversations run in parallel (up to the consumer's concurrency).
 *
 * In this process, messages of a conversation queue behind each other in the order the broker
 * delivered them. Across processes, a Redis lock per conversation (SET NX PX with a random
 * token, released by compare-and-delete) keeps two runners from answering one conversation at
 * once: a message whose conversation is busy elsewhere is parked (`retryAfterMs`) and comes
 * back later. If Redis is unreachable, the turn runs anyway: a reply out of order is better
 * than no reply.
 */
export class ConversationOrder {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly log: Logger;

  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly opts: ConversationOrderOptions,
    logger: Logger,
  ) {
    this.log = logger.child({ source: 'conversation-order' });
  }

  lockKey(msg: Pick<KonstructMessageV1, 'tenantId' | 'conversation'>): string {
    return `${this.keyPrefix}t:${msg.tenantId}:conv-lock:${msg.conversation.ref}`;
  }

  async run(msg: KonstructMessageV1, turn: () => Promise<HandlerResult>): Promise<HandlerResult> {
    const key = this.lockKey(msg);
    const previous = this.tails.get(key) ?? Promise.resolve();
    let finished!: () => void;
    const mine = new Promise<void>((resolve) => (finished = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    try {
      await previous;
      return await this.locked(key, msg, turn);
    } finally {
      finished();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  private async locked(key: string, msg: KonstructMessageV1, turn: () => Promise<HandlerResult>): Promise<HandlerResult> {
    const token = randomUUID();
    let held = false;
    try {
      held = (await this.redis.set(key, token, 'PX', this.opts.lockMs, 'NX')) === 'OK';
      if (!held) {
        this.log.debug({ messageId: msg.id }, 'conversation busy in another runner; message parked');
        return { retryAfterMs: this.opts.retryMs };
      }
    } catch (e) {
      this.log.warn({ err: e, messageId: msg.id }, 'conversation lock unavailable; answering without it');
    }
    const renewal = held
      ? setInterval(() => {
          this.redis
            .eval(RENEW, 1, key, token, this.opts.lockMs)
            .then((ok) => ok === 0 && this.log.warn({ messageId: msg.id }, 'conversation lock lost during the turn'))
            .catch((e: unknown) => this.log.warn({ err: e }, 'conversation lock not renewed'));
        }, Math.max(100, Math.floor(this.opts.lockMs / 3)))
      : null;
    try {
      return await turn();
    } finally {
      if (renewal) clearInterval(renewal);
      if (held) await this.redis.eval(RELEASE, 1, key, token).catch((e: unknown) => this.log.warn({ err: e }, 'conversation lock not released; it expires'));
    }
  }
}
