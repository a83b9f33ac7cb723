import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_FIELDS, NOT_FOUND, VALIDATION, as, makeAgent, makeTool, startHarness, type Harness } from './harness.ts';

let h: Harness;
let agentA: string;
let agentB: string;
beforeAll(async () => {
  h = await startHarness();
  agentA = await makeAgent(h, h.tenantA, 'Agent of A');
  agentB = await makeAgent(h, h.tenantB, 'Agent of B');
});
afterAll(async () => {
  await h?.close();
});

const GET = `query($id: ID!) { agent(id: $id) { ${AGENT_FIELDS} } }`;
const LIST = `{ agents(first: 100) { items { id } } }`;

describe('who may call', () => {
  it('answers 401 UNAUTHENTICATED without a gateway identity', async () => {
    const r = await h.sub.call(LIST, {}, null);
    expect(r.status).toBe(401);
    expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(r.data).toBeUndefined();
  });

  it('answers 401 to an identity signed with the wrong secret', async () => {
    const r = await h.sub.call(LIST, {}, as.admin(h.tenantA.tenantId), { forgeWith: 'x'.repeat(64) });
    expect(r.status).toBe(401);
    expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses an anonymous or tenantless identity', async () => {
    expect((await h.sub.call(LIST, {}, as.anonymous())).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await h.sub.call(LIST, {}, as.platform(null))).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('lets a viewer read but not write (FORBIDDEN), and nothing changes', async () => {
    const viewer = as.viewer(h.tenantA.tenantId);
    expect((await h.sub.call(GET, { id: agentA }, viewer)).data.agent.name).toBe('Agent of A');
    expect((await h.sub.call(LIST, {}, viewer)).data.agents.items).toContainEqual({ id: agentA });

    const toolA = await makeTool(h, h.tenantA);
    const writes: [string, Record<string, unknown>][] = [
      [`mutation { createAgent(input: { name: "Sneaky" }) { __typename } }`, {}],
      [`mutation($id: ID!) { updateAgent(id: $id, input: { name: "Renamed" }) { __typename } }`, { id: agentA }],
      [`mutation($id: ID!) { deleteAgent(id: $id) { __typename } }`, { id: agentA }],
      [`mutation { createToolDefinition(input: { name: "t", description: "d", kind: BUILTIN }) { __typename } }`, {}],
      [`mutation($id: ID!) { updateToolDefinition(id: $id, input: { description: "x" }) { __typename } }`, { id: toolA }],
      [`mutation($id: ID!) { deleteToolDefinition(id: $id) { __typename } }`, { id: toolA }],
      [`mutation($a: ID!, $t: ID!) { assignTool(agentId: $a, toolId: $t) { __typename } }`, { a: agentA, t: toolA }],
      [`mutation($a: ID!, $t: ID!) { unassignTool(agentId: $a, toolId: $t) { __typename } }`, { a: agentA, t: toolA }],
      [`mutation($a: ID!) { createEscalationRule(agentId: $a, input: { trigger: USER_REQUEST }) { __typename } }`, { a: agentA }],
      // Invalid input too: the role check comes first, so a viewer learns nothing from validation.
      [`mutation { createAgent(input: { name: "" }) { __typename } }`, {}],
    ];
    for (const [query, variables] of writes) {
      const r = await h.sub.call(query, variables, viewer);
      expect(r.errors?.[0]?.extensions?.code, query).toBe('FORBIDDEN');
      expect(r.data, query).toBeNull();
    }
    expect((await h.owner.query('SELECT name FROM agents WHERE tenant_id = $1', [h.tenantA.tenantId])).rows).toEqual([{ name: 'Agent of A' }]);
    expect((await h.owner.query('SELECT 1 FROM agent_tools WHERE agent_id = $1', [agentA])).rowCount).toBe(0);
    expect((await h.owner.query('SELECT 1 FROM escalation_rules WHERE agent_id = $1', [agentA])).rowCount).toBe(0);
    expect((await h.owner.query('SELECT 1 FROM tool_definitions WHERE id = $1', [toolA])).rowCount).toBe(1);
  });
});

describe('tenant isolation', () => {
  it("tenant A's admin cannot read, list, update or delete tenant B's agent", async () => {
    const adminA = as.admin(h.tenantA.tenantId);
    expect((await h.sub.call(GET, { id: agentB }, adminA)).data.agent).toBeNull();
    const listed = (await h.sub.call(LIST, {}, adminA)).data.agents.items.map((a: { id: string }) => a.id);
    expect(listed).toContain(agentA);
    expect(listed).not.toContain(agentB);

    const upd = await h.sub.call(
      `mutation($id: ID!) { updateAgent(id: $id, input: { name: "Taken over" }) { __typename ${VALIDATION} ${NOT_FOUND} } }`,
      { id: agentB },
      adminA,
    );
    expect(upd.data.updateAgent).toMatchObject({ __typename: 'NotFound', id: agentB });
    const del = await h.sub.call(`mutation($id: ID!) { deleteAgent(id: $id) { __typename ${NOT_FOUND} } }`, { id: agentB }, adminA);
    expect(del.data.deleteAgent).toMatchObject({ __typename: 'NotFound', id: agentB });

    const b = await h.sub.call(GET, { id: agentB }, as.admin(h.tenantB.tenantId));
    expect(b.data.agent.name).toBe('Agent of B');
  });

  it('resolves Agent entities only within the request tenant', async () => {
    const q = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Agent { id name } } }`;
    const r = await h.sub.call(
      q,
      { r: [{ __typename: 'Agent', id: agentA }, { __typename: 'Agent', id: agentB }] },
      as.admin(h.tenantA.tenantId),
    );
    expect(r.data._entities).toEqual([{ id: agentA, name: 'Agent of A' }, null]);
  });

  it("Tenant.agents lists only the caller's own tenant's agents", async () => {
    const q = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Tenant { agents { items { id } } } } }`;
    const own = await h.sub.call(q, { r: [{ __typename: 'Tenant', id: h.tenantA.tenantId }] }, as.admin(h.tenantA.tenantId));
    expect(own.errors).toBeUndefined();
    expect(own.data._entities).toEqual([{ agents: { items: [{ id: agentA }] } }]);

    const other = await h.sub.call(q, { r: [{ __typename: 'Tenant', id: h.tenantB.tenantId }] }, as.admin(h.tenantA.tenantId));
    expect(other.data._entities).toEqual([null]);
    expect(other.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(JSON.stringify(other)).not.toContain(agentB);

    const viewerB = await h.sub.call(q, { r: [{ __typename: 'Tenant', id: h.tenantB.tenantId }] }, as.viewer(h.tenantB.tenantId));
    expect(viewerB.data._entities).toEqual([{ agents: { items: [{ id: agentB }] } }]);
  });
});
