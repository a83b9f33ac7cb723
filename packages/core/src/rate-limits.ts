/**
 * Where the channel rate limits keep their state in Redis. channel-bridge writes it (one Lua
 * script per decision) and the tenancy subgraph reads the counters; both derive the keys here.
 *
 * Every key of a tenant carries the `{tenantId}` hash tag, so the keys one script touches live
 * in one Redis Cluster slot.
 */
export const RateLimitOutcomes = ['admitted', 'deferred', 'busy'] as const;
export type RateLimitOutcome = (typeof RateLimitOutcomes)[number];

export type RateLimitCounts = Record<RateLimitOutcome, number>;

export interface RateLimitDefault {
  perMinute: number;
  burst: number;
  overLimitAction: 'defer' | 'busy_message';
}

/**
 * Limits channel-bridge applies where a tenant has set none (`setRateLimit`). Generous on
 * purpose: a normal business never meets them; they stop a flood, a bot loop or a runaway
 * integration from turning into unbounded model spend. The whole tenant gets 600 messages a
 * minute with bursts of 120; one channel connection 300 a minute with bursts of 60, so one noisy
 * workspace or number cannot use the whole tenant's allowance. Over the limit the default is to
 * defer — nobody has written a busy message yet.
 */
export const DEFAULT_RATE_LIMITS: { tenant: RateLimitDefault; connection: RateLimitDefault } = {
  tenant: { perMinute: 600, burst: 120, overLimitAction: 'defer' },
  connection: { perMinute: 300, burst: 60, overLimitAction: 'defer' },
};

export interface RateLimitKeys {
  tenantBucket: string;
  connectionBucket: string;
  counters: string;
}

function tenantBase(keyPrefix: string, tenantId: string): string {
  return `${keyPrefix}ratelimit:{${tenantId}}`;
}

export function rateLimitKeys(keyPrefix: string, tenantId: string, connectionId: string): RateLimitKeys {
  const base = tenantBase(keyPrefix, tenantId);
  return {
    tenantBucket: `${base}:bucket:tenant`,
    connectionBucket: `${base}:bucket:conn:${connectionId}`,
    counters: rateLimitCountersKey(keyPrefix, tenantId),
  };
}

/**
 * One hash per tenant: `tenant:<outcome>` totals, `conn:<connectionId>:<outcome>` per channel
 * connection, and `since` (epoch ms of the first decision), so one HGETALL reads them all.
 */
export function rateLimitCountersKey(keyPrefix: string, tenantId: string): string {
  return `${tenantBase(keyPrefix, tenantId)}:counters`;
}

export interface RateLimitCounterSnapshot {
  tenant: RateLimitCounts;
  connections: Array<{ connectionId: string } & RateLimitCounts>;
  /** When counting started for this tenant; null before the first message. */
  since: Date | null;
}

const zero = (): RateLimitCounts => ({ admitted: 0, deferred: 0, busy: 0 });
const OUTCOME = new Set<string>(RateLimitOutcomes);

/** Reads an HGETALL of the counters hash; unknown fields are ignored. */
export function parseRateLimitCounters(hash: Record<string, string>): RateLimitCounterSnapshot {
  const tenant = zero();
  const byConnection = new Map<string, RateLimitCounts>();
  for (const [field, raw] of Object.entries(hash)) {
    const n = Number(raw);
    if (!Number.isFinite(n)) continue;
    const parts = field.split(':');
    if (parts.length === 2 && parts[0] === 'tenant' && OUTCOME.has(parts[1]!)) {
      tenant[parts[1] as RateLimitOutcome] = n;
    } else if (parts.length === 3 && parts[0] === 'conn' && OUTCOME.has(parts[2]!)) {
      const counts = byConnection.get(parts[1]!) ?? zero();
      counts[parts[2] as RateLimitOutcome] = n;
      byConnection.set(parts[1]!, counts);
    }
  }
  const since = Number(hash.since);
  return {
    tenant,
    connections: [...byConnection].map(([connectionId, counts]) => ({ connectionId, ...counts })).sort((a, b) => a.connectionId.localeCompare(b.connectionId)),
    since: Number.isFinite(since) && since > 0 ? new Date(since) : null,
  };
}
