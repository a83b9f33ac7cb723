import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db, TenantScope } from '@konstruct/db';
import { appDb, createTenant, ownerClient } from '../../../test/support/db.ts';
import { as, startTestSubgraph } from '../../../test/support/subgraph.ts';
import { schema } from '../src/schema/index.ts';

/**
 * The audit subgraph against the real (embedded) database: events are appended the way the
 * platform appends them (as the app role inside withTenant; the trigger sets seq and hashes),
 * then read back through GraphQL with gateway-signed identities.
 */

type Sub = Awaited<ReturnType<typeof startTestSubgraph>>;
let sub: Sub;
let owner: pg.Client;
let db: Db;
let A: TenantScope;
let B: TenantScope;

interface Seed {
  id: string;
  occurredAt: Date;
  actorKind: string;
  actorId: string | null;
  action: string;
  subjectType: string | null;
  subjectId: string | null;
}
let seedA: Seed[];
let seedB: Seed[];
const agentA = randomUUID();
const opA = randomUUID();

const T0 = Date.UTC(2026, 0, 10, 12, 0, 0);
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

async function append(scope: TenantScope, events: Omit<Seed, 'id'>[]): Promise<Seed[]> {
  return db.withTenant(scope, async (tx) => {
    const out: Seed[] = [];
    for (const e of events) {
      const row = await tx.auditEvent.create({ data: { tenantId: scope.tenantId, ...e, data: { note: e.action } } });
      out.push({ ...e, id: row.id });
    }
    return out;
  });
}

/** The order the API promises: occurredAt desc, then id desc. */
const newestFirst = (events: Seed[]) =>
  [...events].sort((x, y) => y.occurredAt.getTime() - x.occurredAt.getTime() || (y.id < x.id ? -1 : y.id > x.id ? 1 : 0));

const EVENT_FIELDS = 'id seq occurredAt actorKind actorId action subjectType subjectId data prevHash hash';
const LIST = `query($filter: AuditEventFilter, $first: Int, $after: String) {
  auditEvents(filter: $filter, first: $first, after: $after) { items { ${EVENT_FIELDS} } nextCursor } }`;

/** Follows nextCursor to the end; returns the ids in order and the page sizes seen. */
async function listAll(scope: TenantScope, filter: Record<string, unknown> | null, first: number) {
  const ids: string[] = [];
  const sizes: number[] = [];
  let after: string | null = null;
  for (let guard = 0; guard < 50; guard++) {
    const r: any = await sub.call(LIST, { filter, first, after }, as.viewer(scope.tenantId));
    expect(r.errors).toBeUndefined();
    const page = r.data.auditEvents;
    ids.push(...page.items.map((e: { id: string }) => e.id));
    sizes.push(page.items.length);
    after = page.nextCursor;
    if (!after) return { ids, sizes };
  }
  throw new Error('pagination did not end');
}

beforeAll(async () => {
  owner = await ownerClient();
  db = appDb(3);
  sub = await startTestSubgraph('audit-subgraph', schema);
  A = await createTenant(owner, 'Audit A');
  B = await createTenant(owner, 'Audit B');
  seedA = await append(A, [
    { occurredAt: at(0), actorKind: 'operator', actorId: opA, action: 'agent.created', subjectType: 'agent', subjectId: agentA },
    { occurredAt: at(1), actorKind: 'operator', actorId: opA, action: 'agent.updated', subjectType: 'agent', subjectId: agentA },
    // Three events in the same millisecond: the id breaks the tie, so pages neither skip nor repeat.
    { occurredAt: at(2), actorKind: 'agent', actorId: agentA, action: 'message.sent', subjectType: 'conversation', subjectId: 'c-1' },
    { occurredAt: at(2), actorKind: 'agent', actorId: agentA, action: 'message.sent', subjectType: 'conversation', subjectId: 'c-2' },
    { occurredAt: at(2), actorKind: 'system', actorId: null, action: 'budget.exceeded', subjectType: 'tenant', subjectId: null },
    { occurredAt: at(3), actorKind: 'api_key', actorId: 'key-1', action: 'agent.updated', subjectType: 'agent', subjectId: randomUUID() },
    { occurredAt: at(5), actorKind: 'operator', actorId: opA, action: 'member.invited', subjectType: 'membership', subjectId: 'm-1' },
  ]);
  // B uses the same actions and even names A's agent id as subject: none of it may reach A.
  seedB = await append(B, [
    { occurredAt: at(1), actorKind: 'operator', actorId: opA, action: 'agent.updated', subjectType: 'agent', subjectId: agentA },
    { occurredAt: at(4), actorKind: 'agent', actorId: agentA, action: 'message.sent', subjectType: 'conversation', subjectId: 'c-1' },
  ]);
});

afterAll(async () => {
  await sub?.close();
  await db?.close();
  await owner?.end();
});

describe('auditEvents', () => {
  it('pages through the whole log newest first, following nextCursor, without gaps or repeats', async () => {
    const { ids, sizes } = await listAll(A, null, 3);
    expect(ids).toEqual(newestFirst(seedA).map((e) => e.id));
    expect(sizes).toEqual([3, 3, 1]);

    // An exact multiple of the page size ends with a null cursor, not an empty extra page.
    const exact = await listAll(A, null, 7);
    expect(exact.sizes).toEqual([7]);
  });

  it('returns every field, with seq and hashes from the chain', async () => {
    const r = await sub.call(LIST, { first: 100 }, as.admin(A.tenantId));
    const items = r.data.auditEvents.items as any[];
    const bySeq = [...items].sort((x, y) => Number(x.seq) - Number(y.seq));
    expect(bySeq.map((e) => e.seq)).toEqual(['1', '2', '3', '4', '5', '6', '7']);
    expect(bySeq[0].prevHash).toBe('0'.repeat(64));
    for (let i = 1; i < bySeq.length; i++) expect(bySeq[i].prevHash).toBe(bySeq[i - 1].hash);
    const first = items.find((e) => e.id === seedA[0]!.id);
    expect(first).toEqual({
      id: seedA[0]!.id,
      seq: '1',
      occurredAt: at(0).toISOString(),
      actorKind: 'operator',
      actorId: opA,
      action: 'agent.created',
      subjectType: 'agent',
      subjectId: agentA,
      data: { note: 'agent.created' },
      prevHash: '0'.repeat(64),
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it('filters by action, actor, subject and time window (from inclusive, to exclusive)', async () => {
    const ids = async (filter: Record<string, unknown>) => (await listAll(A, filter, 2)).ids;
    const expected = (pred: (e: Seed) => boolean) => newestFirst(seedA.filter(pred)).map((e) => e.id);

    expect(await ids({ action: 'agent.updated' })).toEqual(expected((e) => e.action === 'agent.updated'));
    expect(await ids({ actorKind: 'agent', actorId: agentA })).toEqual(expected((e) => e.actorKind === 'agent'));
    expect(await ids({ actorKind: 'operator' })).toHaveLength(3);
    expect(await ids({ subjectType: 'agent', subjectId: agentA })).toEqual(expected((e) => e.subjectId === agentA));
    expect(await ids({ subjectType: 'conversation', subjectId: 'c-2' })).toEqual([seedA[3]!.id]);
    expect(await ids({ from: at(2).toISOString(), to: at(5).toISOString() })).toEqual(
      expected((e) => e.occurredAt >= at(2) && e.occurredAt < at(5)),
    );
    expect(await ids({ from: at(2).toISOString(), to: at(5).toISOString() })).toHaveLength(4);
    expect(await ids({ action: 'message.sent', from: at(3).toISOString() })).toEqual([]);
    expect(await ids({ action: 'no.such.action' })).toEqual([]);
  });

  it('a tenant never sees another tenant\'s events, in the list, by id or as an entity reference', async () => {
    const listedA = (await listAll(A, null, 100)).ids;
    const listedB = (await listAll(B, null, 100)).ids;
    expect(listedA).toHaveLength(seedA.length);
    expect(listedB).toEqual(newestFirst(seedB).map((e) => e.id));
    expect(listedA.filter((id) => listedB.includes(id))).toEqual([]);

    const byId = `query($id: ID!) { auditEvent(id: $id) { id action } }`;
    const own = await sub.call(byId, { id: seedA[1]!.id }, as.viewer(A.tenantId));
    expect(own.data).toEqual({ auditEvent: { id: seedA[1]!.id, action: 'agent.updated' } });
    const foreign = await sub.call(byId, { id: seedB[0]!.id }, as.admin(A.tenantId));
    expect(foreign).toMatchObject({ data: { auditEvent: null } });
    expect(foreign.errors).toBeUndefined();
    // Not a uuid: simply not found, not a database error.
    expect((await sub.call(byId, { id: 'nope' }, as.admin(A.tenantId))).data).toEqual({ auditEvent: null });

    const entities = `query($r: [_Any!]!) { _entities(representations: $r) { ... on AuditEvent { id action } } }`;
    const refs = [{ __typename: 'AuditEvent', id: seedB[0]!.id }, { __typename: 'AuditEvent', id: seedA[0]!.id }];
    expect((await sub.call(entities, { r: refs }, as.admin(A.tenantId))).data).toEqual({
      _entities: [null, { id: seedA[0]!.id, action: 'agent.created' }],
    });
  });

  it('rejects a cursor it did not issue', async () => {
    const r = await sub.call(LIST, { first: 2, after: 'not-a-cursor' }, as.admin(A.tenantId));
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('Agent.auditEvents', () => {
  const q = `query($r: [_Any!]!, $first: Int, $after: String) {
    _entities(representations: $r) { ... on Agent { id auditEvents(first: $first, after: $after) { items { id } nextCursor } } } }`;

  it('lists the events the agent acted in or was the subject of, in the caller\'s tenant only', async () => {
    const expected = newestFirst(seedA.filter((e) => e.actorId === agentA || e.subjectId === agentA)).map((e) => e.id);
    expect(expected).toHaveLength(4);
    const p1 = await sub.call(q, { r: [{ __typename: 'Agent', id: agentA }], first: 3 }, as.viewer(A.tenantId));
    expect(p1.errors).toBeUndefined();
    const page1 = p1.data._entities[0].auditEvents;
    expect(page1.items.map((e: { id: string }) => e.id)).toEqual(expected.slice(0, 3));
    const p2 = await sub.call(q, { r: [{ __typename: 'Agent', id: agentA }], first: 3, after: page1.nextCursor }, as.viewer(A.tenantId));
    expect(p2.data._entities[0].auditEvents).toEqual({ items: expected.slice(3).map((id) => ({ id })), nextCursor: null });

    // B holds events naming the same agent id; B sees only its own two.
    const inB = await sub.call(q, { r: [{ __typename: 'Agent', id: agentA }], first: 10 }, as.viewer(B.tenantId));
    expect(inB.data._entities[0].auditEvents.items.map((e: { id: string }) => e.id)).toEqual(newestFirst(seedB).map((e) => e.id));
  });
});

describe('verifyAuditChain', () => {
  const VERIFY = `{ verifyAuditChain { intact firstBrokenSeq problem eventsChecked } }`;

  /** As the owner, with the immutability trigger off only inside this one transaction. */
  async function tamper(tenantId: string, sql: string) {
    await owner.query('BEGIN');
    try {
      await owner.query('ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update');
      expect((await owner.query(sql, [tenantId])).rowCount).toBe(1);
      await owner.query('ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update');
      await owner.query('COMMIT');
    } catch (e) {
      await owner.query('ROLLBACK');
      throw e;
    }
  }

  it('reports an intact chain and how many events it checked; viewers may run it', async () => {
    expect((await sub.call(VERIFY, {}, as.viewer(A.tenantId))).data).toEqual({
      verifyAuditChain: { intact: true, firstBrokenSeq: null, problem: null, eventsChecked: 7 },
    });
    const empty = await createTenant(owner, 'Audit empty');
    expect((await sub.call(VERIFY, {}, as.admin(empty.tenantId))).data).toEqual({
      verifyAuditChain: { intact: true, firstBrokenSeq: null, problem: null, eventsChecked: 0 },
    });
  });

  it('names the first tampered event, and only in the tampered tenant', async () => {
    const T = await createTenant(owner, 'Audit tampered');
    await append(T, [1, 2, 3, 4, 5].map((i) => ({
      occurredAt: at(10 + i), actorKind: 'operator', actorId: opA, action: `refund.${i}`, subjectType: 'order', subjectId: `o-${i}`,
    })));
    expect((await sub.call(VERIFY, {}, as.admin(T.tenantId))).data.verifyAuditChain.intact).toBe(true);

    await tamper(T.tenantId, `UPDATE audit_events SET data = '{"note": "refund approved"}' WHERE tenant_id = $1 AND seq = 3`);
    expect((await sub.call(VERIFY, {}, as.viewer(T.tenantId))).data).toEqual({
      verifyAuditChain: { intact: false, firstBrokenSeq: '3', problem: 'hash does not match the event contents', eventsChecked: 5 },
    });
    expect((await sub.call(VERIFY, {}, as.viewer(A.tenantId))).data.verifyAuditChain.intact).toBe(true);
  });
});

describe('access', () => {
  it('401 without an identity, or with one the gateway did not sign', async () => {
    const none = await sub.call(LIST, {}, null);
    expect(none.status).toBe(401);
    expect(none.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(none.data).toBeUndefined();
    const forged = await sub.call(LIST, {}, as.admin(A.tenantId), { forgeWith: 'x'.repeat(64) });
    expect(forged.status).toBe(401);
  });

  it('an anonymous identity or one without a tenant gets no data', async () => {
    const anon = await sub.call(LIST, {}, as.anonymous());
    expect(anon.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(anon.data).toBeNull();
    const noTenant = await sub.call(`{ verifyAuditChain { intact } }`, {}, as.platform(null));
    expect(noTenant.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('the schema has no mutations: the log is written by the platform only', () => {
    expect(schema.getMutationType()).toBeUndefined();
  });
});
