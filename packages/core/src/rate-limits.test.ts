import { describe, expect, it } from 'vitest';
import { parseRateLimitCounters, rateLimitCountersKey, rateLimitKeys } from './rate-limits.ts';

const tenant = '6f1c1b7e-3c55-4a0e-9d1e-2a4c1d1b9f00';
const conn = 'a3d5e1f2-0b4c-4d6e-8f10-1a2b3c4d5e6f';

describe('rate-limit keys', () => {
  it('puts every key of a tenant in one Redis Cluster slot (the {tenantId} hash tag)', () => {
    const keys = rateLimitKeys('konstruct:', tenant, conn);
    expect(keys).toEqual({
      tenantBucket: `konstruct:ratelimit:{${tenant}}:bucket:tenant`,
      connectionBucket: `konstruct:ratelimit:{${tenant}}:bucket:conn:${conn}`,
      counters: `konstruct:ratelimit:{${tenant}}:counters`,
    });
    expect(rateLimitCountersKey('konstruct:', tenant)).toBe(keys.counters);
    for (const k of Object.values(keys)) expect(k.match(/\{([^}]*)\}/)?.[1]).toBe(tenant);
  });

  it('parses the counters hash, ignoring what it does not know', () => {
    const snapshot = parseRateLimitCounters({
      'tenant:admitted': '10',
      'tenant:deferred': '4',
      [`conn:${conn}:admitted`]: '10',
      [`conn:${conn}:deferred`]: '4',
      'conn:other:busy': '1',
      'tenant:bogus': '9',
      'tenant:busy': 'not a number',
      since: '1700000000000',
    });
    expect(snapshot).toEqual({
      tenant: { admitted: 10, deferred: 4, busy: 0 },
      connections: [
        { connectionId: conn, admitted: 10, deferred: 4, busy: 0 },
        { connectionId: 'other', admitted: 0, deferred: 0, busy: 1 },
      ],
      since: new Date(1_700_000_000_000),
    });
    expect(parseRateLimitCounters({})).toEqual({ tenant: { admitted: 0, deferred: 0, busy: 0 }, connections: [], since: null });
  });
});
