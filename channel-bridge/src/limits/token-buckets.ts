import type { Redis } from 'ioredis';
import { rateLimitKeys, type RateLimitOutcome } from '@konstruct/core';

/**
 * Both token buckets (tenant and channel connection) and the counters, decided in one Lua
 * script: one Redis round trip per message, and atomic, so parallel bridges can never admit
 * more than the burst between them.
 *
 * A bucket holds up to `burst` tokens and refills at `perMinute / 60 000` tokens per ms. A
 * message is admitted only when both buckets hold a token, and then takes one from each;
 * otherwise neither is touched by the admission. What happens instead is decided by the most
 * specific refusing limit (the connection's when it refuses, else the tenant's):
 *
 * - `defer`: the message reserves its future slot — both buckets go one token into debt and the
 *   delay is the time until that slot's token has refilled. Without the reservation every message
 *   deferred in the same second would come back in the same second and exceed the limit again;
 *   with it, deferred messages are released at the configured rate, in order.
 * - `busy_message`: nothing is consumed; the message is answered with the busy text.
 *
 * The clock is Redis's own (`TIME`), so bridges with skewed clocks share one timeline; tests may
 * pass `now` explicitly.
 */
const SCRIPT = `
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function load(key, perMinute, burst)
  local rate = tonumber(perMinute) / 60000
  local cap = tonumber(burst)
  local state = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens = tonumber(state[1])
  local ts = tonumber(state[2])
  if tokens == nil or ts == nil then
    tokens = cap
    ts = now
  end
  -- A clock that steps back refills nothing, and the stored time never moves backwards.
  if now > ts then
    tokens = math.min(cap, tokens + (now - ts) * rate)
    ts = now
  end
  return { key = key, tokens = tokens, ts = ts, rate = rate, cap = cap }
end

local function save(b)
  redis.call('HSET', b.key, 'tokens', string.format('%.17g', b.tokens), 'ts', string.format('%d', b.ts))
  -- Once full again the bucket is indistinguishable from a missing one.
  redis.call('PEXPIRE', b.key, math.ceil((b.cap - b.tokens) / b.rate) + 1000)
end

local function wait(b)
  if b.tokens >= 1 then return 0 end
  return math.ceil((1 - b.tokens) / b.rate)
end

local t = load(KEYS[1], ARGV[2], ARGV[3])
local c = load(KEYS[2], ARGV[5], ARGV[6])
local outcome = 'admitted'
local delay = 0
local limitedBy = ''

if t.tokens >= 1 and c.tokens >= 1 then
  t.tokens = t.tokens - 1
  c.tokens = c.tokens - 1
  save(t)
  save(c)
else
  local action
  if c.tokens < 1 then
    action = ARGV[7]
    if t.tokens < 1 then limitedBy = 'both' else limitedBy = 'connection' end
  else
    action = ARGV[4]
    limitedBy = 'tenant'
  end
  if action == 'defer' then
    outcome = 'deferred'
    delay = math.max(wait(t), wait(c))
    t.tokens = t.tokens - 1
    c.tokens = c.tokens - 1
    save(t)
    save(c)
  else
    outcome = 'busy'
  end
end

redis.call('HINCRBY', KEYS[3], 'tenant:' .. outcome, 1)
redis.call('HINCRBY', KEYS[3], 'conn:' .. ARGV[8] .. ':' .. outcome, 1)
redis.call('HSETNX', KEYS[3], 'since', string.format('%d', now))
return { outcome, delay, limitedBy }
`;

export type OverLimitAction = 'defer' | 'busy_message';

export interface BucketLimit {
  perMinute: number;
  burst: number;
  overLimitAction: OverLimitAction;
}

export type BucketDecision =
  | { outcome: 'admitted' }
  | { outcome: 'deferred'; delayMs: number; limitedBy: LimitedBy }
  | { outcome: 'busy'; limitedBy: LimitedBy };

export type LimitedBy = 'tenant' | 'connection' | 'both';

const COMMAND = 'konstructTokenBuckets';

type Raw = [RateLimitOutcome, number, string];
type WithCommand = Redis & { [COMMAND](...args: (string | number)[]): Promise<Raw> };

/**
 * Registers the script on the client (ioredis sends it with EVAL the first time on each
 * connection and EVALSHA after, re-sending it if the server lost it) — either way one round trip.
 */
export class TokenBuckets {
  private readonly redis: WithCommand;

  constructor(
    redis: Redis,
    private readonly keyPrefix: string,
  ) {
    if (!(COMMAND in redis)) redis.defineCommand(COMMAND, { numberOfKeys: 3, lua: SCRIPT });
    this.redis = redis as WithCommand;
  }

  async decide(
    route: { tenantId: string; connectionId: string },
    limits: { tenant: BucketLimit; connection: BucketLimit },
    now?: number,
  ): Promise<BucketDecision> {
    const keys = rateLimitKeys(this.keyPrefix, route.tenantId, route.connectionId);
    const [outcome, delay, limitedBy] = await this.redis[COMMAND](
      keys.tenantBucket,
      keys.connectionBucket,
      keys.counters,
      now === undefined ? '' : String(Math.floor(now)),
      limits.tenant.perMinute,
      limits.tenant.burst,
      limits.tenant.overLimitAction,
      limits.connection.perMinute,
      limits.connection.burst,
      limits.connection.overLimitAction,
      route.connectionId,
    );
    if (outcome === 'admitted') return { outcome };
    if (outcome === 'deferred') return { outcome, delayMs: Number(delay), limitedBy: limitedBy as LimitedBy };
    return { outcome: 'busy', limitedBy: limitedBy as LimitedBy };
  }
}
