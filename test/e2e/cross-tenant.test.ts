import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { buildClientSchema, getIntrospectionQuery, isInterfaceType, type GraphQLSchema, type IntrospectionQuery } from 'graphql';
import { databaseUrl, ownerClient } from '../support/db.ts';
import { startFederation, type Federation } from '../support/federation.ts';
import { rowsMentioning, seedTenantGraph, snapshot, type SecretTenant } from '../support/cross-tenant/fixture.ts';
import { generateCalls, type GeneratedCall, type IdBook } from '../support/cross-tenant/generate.ts';
import { describeCall, findLeaks, harnessError, outcome, runCalls, type CallResult } from '../support/cross-tenant/inspect.ts';

/**
 * Tenant isolation through the public API, generated from the schema: every root query and
 * mutation, called with tenant A's credentials (an admin's session, then a WRITE API key)
 * and tenant B's ids in every id argument, must reveal nothing of B and change nothing of B.
 */

const LOGIN = `mutation($e:String!,$p:String!){ login(email:$e,password:$p){ __typename ... on Session { token } ... on ValidationError { message } } }`;

const book = (g: SecretTenant): IdBook => ({
  tenant: [g.tenantId],
  agent: [g.agentId],
  tool: [g.toolId],
  rule: [g.ruleId],
  connection: [g.connectionId],
  rateLimit: g.rateLimitIds,
  conversation: [g.conversationId],
  message: g.messageIds,
  handoff: [g.handoffId],
  memory: [g.memoryId],
  budget: g.budgetIds,
  usageRecord: [g.usageRecordId],
  providerKey: [g.providerKeyId],
  apiKey: [g.apiKeyId],
  subscription: [g.subscriptionId],
  membership: g.membershipIds,
  operator: g.operatorIds,
  auditEvent: g.auditEventIds,
  endUser: [g.endUserId],
  team: [g.teamId],
});

describe('cross-tenant access through the API', () => {
  let fed: Federation;
  let owner: pg.Client;
  let a: SecretTenant;
  let b: SecretTenant;
  let schema: GraphQLSchema;
  let errorTypes: Set<string>;
  let adminA: Record<string, string>;
  let adminB: Record<string, string>;
  let apiKeyA: Record<string, string>;

  async function login(email: string, password: string): Promise<string> {
    const r = await fed.gql(LOGIN, { e: email, p: password });
    expect(r.data?.login?.__typename, JSON.stringify(r)).toBe('Session');
    return r.data.login.token;
  }

  beforeAll(async () => {
    fed = await startFederation(databaseUrl(), { GATEWAY_RATE_LIMIT_PER_MINUTE: '1000000' });
    owner = await ownerClient();
    a = await seedTenantGraph(owner, { masterKey: fed.masterKey, name: 'Acme', secret: false });
    b = await seedTenantGraph(owner, { masterKey: fed.masterKey, name: 'Beta', secret: true });
    adminA = { authorization: `Bearer ${await login(a.admin.email, a.admin.password)}`, 'x-konstruct-tenant': a.tenantId };
    adminB = { authorization: `Bearer ${await login(b.admin.email, b.admin.password)}`, 'x-konstruct-tenant': b.tenantId };

    // The API as served (introspection is on outside production), asked as A's admin.
    const intro = await fed.gql<IntrospectionQuery>(getIntrospectionQuery(), {}, adminA);
    expect(intro.errors, JSON.stringify(intro.errors)).toBeUndefined();
    schema = buildClientSchema(intro.data!);
    const errorInterface = schema.getType('Error');
    errorTypes = new Set(isInterfaceType(errorInterface) ? schema.getPossibleTypes(errorInterface).map((t) => t.name) : []);
    expect(errorTypes.has('NotFound')).toBe(true);

    const created = await fed.gql(
      `mutation{ createApiKey(name:"cross-tenant", scopes:[WRITE]){ __typename ... on ApiKeyCreated { key } } }`,
      {},
      adminA,
    );
    expect(created.data?.createApiKey?.__typename, JSON.stringify(created)).toBe('ApiKeyCreated');
    apiKeyA = { authorization: `Bearer ${created.data.createApiKey.key}` };
  }, 60_000);

  afterAll(async () => {
    await owner?.end();
    await fed?.close();
  });

  /** The same generated reads, made by B's own admin on B's ids, find B's data: the detector works. */
  it('finds B’s data when B’s own admin makes the same calls', async () => {
    const reads = generateCalls(schema, { victim: book(b), attacker: book(b), mode: 'plausible' }).filter((c) => c.operation === 'query');
    const results = await runCalls(fed, reads, adminB, 'B admin');
    expect(results.map(harnessError).filter(Boolean)).toEqual([]);
    const seen = new Set(results.filter((r) => findLeaks(r, b.forbidden, errorTypes).length > 0).map((r) => r.call.field));
    // The database-side checks see B's data too.
    expect((await rowsMentioning(owner, b.tenantId, [b.agentId, b.token])).length).toBeGreaterThan(10);
    for (const field of [
      'Query.agent',
      'Query.agents',
      'Query.toolDefinition',
      'Query.conversation',
      'Query.conversations',
      'Query.handoffs',
      'Query.auditEvent',
      'Query.auditEvents',
      'Query.budgets',
      'Query.providerKeys',
      'Query.usage',
      'Query.memories',
      'Query.searchMemories',
      'Query.tenant',
      'Query.members',
      'Query.apiKeys',
      'Query.channelConnection',
      'Query.channelConnections',
      'Query.rateLimits',
      'Query.subscription',
    ]) {
      expect(seen, `${field} should show B its own data`).toContain(field);
    }
  });

  /** Runs the generated calls as the attacker and collects every violation into one report. */
  async function attack(credentials: Record<string, string>, who: string, mode: 'all' | 'plausible') {
    const before = await snapshot(owner, b);
    const calls = generateCalls(schema, { victim: book(b), attacker: book(a), mode });
    const queries = calls.filter((c) => c.operation === 'query');
    const mutations = calls.filter((c) => c.operation === 'mutation');
    const noIds = (cs: GeneratedCall[]) => cs.filter((c) => c.victimValues.length === 0);
    const started = Date.now();
    const results: CallResult[] = [
      ...(await runCalls(fed, queries, credentials, who)),
      ...(await runCalls(fed, mutations, credentials, who)),
      // What the mutations may have linked into A's own data shows up in A's listings.
      ...(await runCalls(fed, noIds(queries), credentials, `${who}, after the mutations`)),
      // Naming B as the tenant to act on: refused for a session, ignored for an API key.
      ...(await runCalls(fed, noIds(calls), { ...credentials, 'x-konstruct-tenant': b.tenantId }, `${who}, x-konstruct-tenant: B`)),
    ];
    const elapsed = Date.now() - started;

    const violations: string[] = [];
    const invalid: string[] = [];
    const outcomes = new Map<string, number>();
    for (const r of results) {
      const bad = harnessError(r);
      if (bad) invalid.push(`${describeCall(r)} → ${bad}`);
      for (const leak of findLeaks(r, b.forbidden, errorTypes)) violations.push(`${describeCall(r)}\n    leaked ${leak}`);
      const o = `${r.call.field} → ${outcome(r)}`;
      outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
    }
    const after = await snapshot(owner, b);
    for (const table of Object.keys(before)) {
      if (before[table] !== after[table]) violations.push(`B's ${table} changed: before ${before[table]}, after ${after[table]}`);
    }
    for (const hit of await rowsMentioning(owner, a.tenantId, b.forbidden)) {
      violations.push(`A's ${hit.table} now refers to B ("${hit.found}"): ${hit.row}`);
    }
    return { calls: results.length, fields: new Set(results.map((r) => r.call.field)), elapsed, violations, invalid, outcomes };
  }

  function expectDenied(run: Awaited<ReturnType<typeof attack>>, who: string) {
    const rootFields = [schema.getQueryType()!, schema.getMutationType()!].flatMap((t) => Object.keys(t.getFields()).map((f) => `${t.name}.${f}`));
    expect(rootFields.filter((f) => !run.fields.has(f)), 'every root field is called').toEqual([]);
    expect(run.calls).toBeGreaterThan(50);
    expect(run.invalid, `the harness generated ${run.invalid.length} invalid calls:\n${run.invalid.slice(0, 20).join('\n')}`).toEqual([]);
    expect(
      run.violations,
      `${run.violations.length} cross-tenant violations in ${run.calls} calls (${run.elapsed} ms) as ${who}:\n${run.violations.join('\n')}\n\noutcomes:\n${[...run.outcomes]
        .map(([k, n]) => `  ${k} ×${n}`)
        .join('\n')}`,
    ).toEqual([]);
  }

  it('denies every root field to A’s admin on B’s ids', { timeout: 120_000 }, async () => {
    const run = await attack(adminA, 'A admin', 'all');
    expectDenied(run, 'A admin');
  });

  it('denies every root field to A’s WRITE API key on B’s ids', { timeout: 60_000 }, async () => {
    const run = await attack(apiKeyA, 'A API key', 'plausible');
    expectDenied(run, 'A API key');
  });

  /**
   * The control: the same generated calls with A's own ids succeed for A, so the denials
   * above come from B's ids and not from arguments the API rejects anyway. Last, because it
   * deletes A's data; destructive calls run after the others, the ones on agents and the
   * tenant's people last of all.
   */
  it('accepts the same calls on A’s own ids', { timeout: 30_000 }, async () => {
    const destructive = (c: GeneratedCall) => /^Mutation\.(delete|remove|revoke|forget)/.test(c.field);
    const rank = (c: GeneratedCall) => (!destructive(c) ? 0 : /Agent|Member|Tenant/.test(c.field) ? 2 : 1);
    const controls = generateCalls(schema, { victim: book(a), attacker: book(a), mode: 'plausible' })
      .filter((c) => c.victimValues.length > 0)
      .sort((x, y) => rank(x) - rank(y));
    const results = await runCalls(fed, controls, adminA, 'A admin on A', 1);
    const succeeded = (r: CallResult) => {
      if (r.body.errors?.length) return false;
      const v = Object.values((r.body.data ?? {}) as Record<string, unknown>)[0];
      if (v === null || v === undefined) return false;
      const t = (v as { __typename?: string }).__typename;
      return !(t && errorTypes.has(t));
    };
    // Only platform operators may delete a tenant; A's admin is refused even for A. Accepting or
    // declining an invitation needs a pending one, and A's admin is already a member of A.
    const platformOnly = new Set(['Mutation.deleteTenant', 'Mutation.acceptInvitation', 'Mutation.declineInvitation']);
    const byField = new Map<string, CallResult[]>();
    for (const r of results) byField.set(r.call.field, [...(byField.get(r.call.field) ?? []), r]);
    const never = [...byField].filter(([field, rs]) => !platformOnly.has(field) && !rs.some(succeeded));
    expect(
      never.map(([field, rs]) => `${field}: ${rs.map((r) => `${describeCall(r)} → ${JSON.stringify(r.body).slice(0, 300)}`).join('\n    ')}`),
      'fields whose generated calls fail even on the caller’s own ids',
    ).toEqual([]);
    expect(byField.size).toBeGreaterThan(20);
  });
});
