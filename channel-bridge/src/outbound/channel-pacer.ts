import type { Redis } from 'ioredis';

/** Slack allows about one message per second per channel (bursts tolerated briefly). */
export const SLACK_CHANNEL_INTERVAL_MS = 1_000;

/**
 * Hands out send slots per channel, shared by every bridge instance: the key holds the earliest
 * time the next message may go. Redis' clock decides, so instances with skewed clocks still agree.
 * A slot further away than `maxWaitMs` is not taken, so the caller can put the message back
 * on the queue instead of holding a consumer while it waits.
 */
const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local maxWait = tonumber(ARGV[2])
local nextAt = tonumber(redis.call('GET', KEYS[1]) or '0')
local at = math.max(now, nextAt)
local wait = at - now
if wait > maxWait then return { 0, wait } end
redis.call('SET', KEYS[1], at + interval, 'PX', wait + interval + 60000)
return { 1, wait }
`;

/** Pushes the channel's next slot out to at least `now + ms` (Slack said Retry-After). */
const PAUSE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untilAt = now + tonumber(ARGV[1])
local nextAt = tonumber(redis.call('GET', KEYS[1]) or '0')
if untilAt > nextAt then redis.call('SET', KEYS[1], untilAt, 'PX', tonumber(ARGV[1]) + 60000) end
return untilAt - now
`;

type PacerCommands = {
  konstructPaceReserve(key: string, intervalMs: number, maxWaitMs: number): Promise<[number, number]>;
  konstructPacePause(key: string, ms: number): Promise<number>;
};

export interface Slot {
  /** False: the slot was further away than allowed and nothing was reserved. */
  granted: boolean;
  /** How long until the slot (granted) or until a slot could be had (not granted). */
  waitMs: number;
}

export class ChannelPacer {
  private readonly redis: Redis & PacerCommands;

  constructor(
    redis: Redis,
    private readonly keyPrefix: string,
    private readonly intervalMs = SLACK_CHANNEL_INTERVAL_MS,
  ) {
    if (!('konstructPaceReserve' in redis)) {
      redis.defineCommand('konstructPaceReserve', { numberOfKeys: 1, lua: RESERVE });
      redis.defineCommand('konstructPacePause', { numberOfKeys: 1, lua: PAUSE });
    }
    this.redis = redis as Redis & PacerCommands;
  }

  /** Per tenant namespace, then the channel: Slack's limit is per channel of one workspace. */
  key(tenantId: string, connectionId: string, channel: string): string {
    return `${this.keyPrefix}tenant:${tenantId}:slack:pace:${connectionId}:${channel}`;
  }

  async reserve(key: string, maxWaitMs: number): Promise<Slot> {
    const [granted, waitMs] = await this.redis.konstructPaceReserve(key, this.intervalMs, maxWaitMs);
    return { granted: granted === 1, waitMs };
  }

  async pause(key: string, ms: number): Promise<void> {
    await this.redis.konstructPacePause(key, Math.max(0, Math.ceil(ms)));
  }
}
