import type { Redis } from 'ioredis';

/** Meta's pair rate limit: one message every 6 seconds to the same user. */
export const DEFAULT_PAIR_INTERVAL_MS = 6_000;
/** Cloud API default throughput per business phone number. */
export const DEFAULT_NUMBER_RATE_PER_SECOND = 80;

export interface PacerOptions {
  keyPrefix: string;
  pairIntervalMs?: number;
  numberRatePerSecond?: number;
  /** First back-off after 130429, doubled per repeat within `strikeWindowMs`, capped. */
  throughputBackoffMs?: number;
  maxThroughputBackoffMs?: number;
  /** First back-off after 131056 (default: the pair interval), doubled per repeat, capped. */
  pairBackoffMs?: number;
  maxPairBackoffMs?: number;
  strikeWindowMs?: number;
  now?: () => number;
}

// One round trip per decision. KEYS: pair next-allowed, number back-off-until, number counter
// for the current second. Returns 0 (go, slot taken) or the milliseconds to wait.
const RESERVE = `
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local backoff = tonumber(redis.call('GET', KEYS[2]) or '0')
if backoff > now then return backoff - now end
local nextAt = tonumber(redis.call('GET', KEYS[1]) or '0')
if nextAt > now then return nextAt - now end
local count = tonumber(redis.call('GET', KEYS[3]) or '0')
if count >= limit then return 1000 - (now % 1000) end
redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], 2000)
if interval > 0 then redis.call('SET', KEYS[1], now + interval, 'PX', interval + 1000) end
return 0`;

// KEYS: the key to push forward, the strike counter. Exponential in the strikes seen recently.
const PENALIZE = `
local now = tonumber(ARGV[1])
local base = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
local strikes = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[4]))
local delay = math.min(base * 2 ^ (strikes - 1), cap)
local untilMs = now + delay
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if untilMs > current then redis.call('SET', KEYS[1], untilMs, 'PX', math.floor(delay) + 1000) end
return math.floor(delay)`;

// KEYS: pair next-allowed. Moves it to now + interval unless it is already later.
const RESTART = `
local untilMs = tonumber(ARGV[1]) + tonumber(ARGV[2])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if untilMs > current then redis.call('SET', KEYS[1], untilMs, 'PX', tonumber(ARGV[2]) + 1000) end
return 0`;

/**
 * Outbound pacing for WhatsApp, shared by every bridge instance through Redis: at most one
 * message per `pairIntervalMs` to the same user (Meta's pair limit), at most
 * `numberRatePerSecond` per business number, and back-offs that Meta's 130429 (throughput)
 * and 131056 (pair limit) errors push forward. Callers wait the returned time; nothing spins.
 */
export class WhatsAppPacer {
  readonly pairIntervalMs: number;
  readonly numberRatePerSecond: number;
  private readonly now: () => number;

  constructor(
    private readonly redis: Redis,
    private readonly opts: PacerOptions,
  ) {
    this.pairIntervalMs = opts.pairIntervalMs ?? DEFAULT_PAIR_INTERVAL_MS;
    this.numberRatePerSecond = opts.numberRatePerSecond ?? DEFAULT_NUMBER_RATE_PER_SECOND;
    this.now = opts.now ?? Date.now;
  }

  /** Takes a send slot for (number, user) now and returns 0, or returns how long to wait first. */
  async reserve(phoneNumberId: string, waId: string): Promise<number> {
    const now = this.now();
    const second = Math.floor(now / 1000);
    const wait = await this.redis.eval(
      RESERVE,
      3,
      this.key('pair', phoneNumberId, waId),
      this.key('backoff', phoneNumberId),
      this.key('rate', phoneNumberId, String(second)),
      now,
      this.pairIntervalMs,
      this.numberRatePerSecond,
    );
    return Number(wait);
  }

  /**
   * Restarts the pair interval when Meta has answered: `reserve` counts from before the HTTP
   * call, and a slow first request would otherwise let the next one arrive early.
   */
  async sent(phoneNumberId: string, waId: string): Promise<void> {
    if (this.pairIntervalMs <= 0) return;
    await this.redis.eval(RESTART, 1, this.key('pair', phoneNumberId, waId), this.now(), this.pairIntervalMs);
  }

  /** After 130429: the whole number waits. Returns the back-off applied. */
  async throughputHit(phoneNumberId: string): Promise<number> {
    return this.penalize(
      this.key('backoff', phoneNumberId),
      this.key('strikes', phoneNumberId),
      this.opts.throughputBackoffMs ?? 1_000,
      this.opts.maxThroughputBackoffMs ?? 30_000,
    );
  }

  /** After 131056: this user waits longer than the usual interval. Returns the back-off applied. */
  async pairLimitHit(phoneNumberId: string, waId: string): Promise<number> {
    return this.penalize(
      this.key('pair', phoneNumberId, waId),
      this.key('strikes', phoneNumberId, waId),
      this.opts.pairBackoffMs ?? Math.max(this.pairIntervalMs, 1_000),
      this.opts.maxPairBackoffMs ?? 60_000,
    );
  }

  private async penalize(key: string, strikesKey: string, base: number, cap: number): Promise<number> {
    const delay = await this.redis.eval(PENALIZE, 2, key, strikesKey, this.now(), base, cap, this.opts.strikeWindowMs ?? 120_000);
    return Number(delay);
  }

  private key(...parts: string[]): string {
    return `${this.opts.keyPrefix}wa:${parts.join(':')}`;
  }
}
