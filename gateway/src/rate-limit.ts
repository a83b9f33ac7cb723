import type { Redis } from 'ioredis';

/**
 * Token bucket in one Redis round trip: refills `perMinute` tokens a minute up to `burst`,
 * takes one per request. Returns whether allowed and, if not, when to retry.
 */
const SCRIPT = `
local key = KEYS[1]
local rate = tonumber(ARGV[1]) / 60000
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', key, 't', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + (now - ts) * rate)
local allowed = 0
local retry = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', key, 't', tokens, 'ts', now)
redis.call('PEXPIRE', key, math.ceil(burst / rate) + 1000)
return { allowed, retry }
`;

export class RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    redis.defineCommand('konstructTokenBucket', { numberOfKeys: 1, lua: SCRIPT });
  }

  async take(key: string, perMinute: number, burst = perMinute): Promise<{ allowed: boolean; retryAfterMs: number }> {
    const [allowed, retry] = (await (this.redis as unknown as {
      konstructTokenBucket(k: string, rate: number, burst: number, now: number): Promise<[number, number]>;
    }).konstructTokenBucket(`${this.prefix}rl:${key}`, perMinute, burst, Date.now())) as [number, number];
    return { allowed: allowed === 1, retryAfterMs: retry };
  }
}
