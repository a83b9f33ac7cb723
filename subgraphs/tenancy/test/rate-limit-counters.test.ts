import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { Redis } from 'ioredis';
import { keyringFrom, rateLimitCountersKey } from '@konstruct/core';
import { schema } from '../src/index.ts';
import { RedisRateLimitCounters } from '../src/domain/rate-limit-counters.ts';
import { createTenant, ownerClient } from '../../../test/support/db.ts';
import { as, startTestSubgraph } from '../../../test/support/subgraph.ts';

const QUERY = `query($t:ID){ rateLimitCounters(tenantId:$t){ tenantId since tenant { admitted deferred busy }
  connections { connectionId connection { id kind } admitted deferred busy } } }`;

describe('tenancy: rate-limit counters (CHAN-05)', () => {
  let sg: Awaited<ReturnType<typeof startTestSubgraph>>;
  let bare: Awaited<ReturnType<typeof startTestSubgraph>>;
  let owner: pg.Client;
  let redis: Redis;
  const prefix = `test:${randomUUID()}:`;
  let a: string;
  let b: string;
  let connA: string;
  const gone = randomUUID();

  beforeAll(async () => {
    redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    const common = { jwtSecret: randomBytes(32).toString('hex'), keyring: keyringFrom(randomBytes(32).toString('base64')) };
    sg = await startTestSubgraph('tenancy', schema, { ...common, rateLimitCounters: new RedisRateLimitCounters(redis, prefix) });
    bare = await startTestSubgraph('tenancy', schema, common);
    owner = await ownerClient();
    a = (await createTenant(owner)).tenantId;
    b = (await createTenant(owner)).tenantId;
    connA = randomUUID();
    await owner.query(`INSERT INTO channel_connections (id, tenant_id, kind, external_id, updated_at) VALUES ($1, $2, 'slack', $3, now())`, [
      connA,
      a,
      `T${randomBytes(4).toString('hex').toUpperCase()}`,
    ]);
    // The layout channel-bridge's script writes (see @konstruct/core rate-limits.ts).
    await redis.hset(rateLimitCountersKey(prefix, a), {
      'tenant:admitted': '7',
      'tenant:deferred': '3',
      'tenant:busy': '2',
      [`conn:${connA}:admitted`]: '5',
      [`conn:${connA}:deferred`]: '3',
      [`conn:${gone}:admitted`]: '2',
      [`conn:${gone}:busy`]: '2',
      since: '1700000000000',
    });
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await owner?.end();
    await sg?.close();
    await bare?.close();
  });

  it('shows a tenant admin their totals and per-connection counts', async () => {
    const r = await sg.call(QUERY, {}, as.viewer(a));
    expect(r.errors).toBeUndefined();
    const c = r.data.rateLimitCounters;
    expect(c.tenantId).toBe(a);
    expect(c.since).toBe('2023-11-14T22:13:20.000Z');
    expect(c.tenant).toEqual({ admitted: 7, deferred: 3, busy: 2 });
    const byId = Object.fromEntries(c.connections.map((x: { connectionId: string }) => [x.connectionId, x]));
    expect(byId[connA]).toEqual({ connectionId: connA, connection: { id: connA, kind: 'SLACK' }, admitted: 5, deferred: 3, busy: 0 });
    // A deleted connection's history stays visible.
    expect(byId[gone]).toEqual({ connectionId: gone, connection: null, admitted: 2, deferred: 0, busy: 2 });
  });

  it('is also a field of the tenant', async () => {
    const r = await sg.call(`{ tenant { id rateLimitCounters { tenant { admitted } } } }`, {}, as.admin(a));
    expect(r.data.tenant).toEqual({ id: a, rateLimitCounters: { tenant: { admitted: 7 } } });
  });

  it("never shows one tenant another tenant's counters; platform operators may look", async () => {
    const own = await sg.call(QUERY, {}, as.admin(b));
    expect(own.data.rateLimitCounters).toMatchObject({ tenantId: b, since: null, tenant: { admitted: 0, deferred: 0, busy: 0 }, connections: [] });
    const other = await sg.call(QUERY, { t: a }, as.admin(b));
    expect(other.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(other.data?.rateLimitCounters ?? null).toBeNull();
    const platform = await sg.call(QUERY, { t: a }, as.platform());
    expect(platform.data.rateLimitCounters.tenant).toEqual({ admitted: 7, deferred: 3, busy: 2 });
    expect((await sg.call(QUERY, {}, as.anonymous())).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('says the counters are unavailable rather than showing zeros when Redis is not configured', async () => {
    const r = await bare.call(QUERY, {}, as.admin(a));
    expect(r.errors?.[0]).toMatchObject({ extensions: { code: 'DEPENDENCY_UNAVAILABLE' } });
    expect(r.errors?.[0]?.message).toMatch(/not available/);
  });
});
