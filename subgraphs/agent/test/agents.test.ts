import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant } from '../../../test/support/db.ts';
import { AGENT_FIELDS, NOT_FOUND, VALIDATION, as, makeAgent, startHarness, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const CREATE = `mutation($i: CreateAgentInput!) { createAgent(input: $i) { __typename ... on Agent { ${AGENT_FIELDS} } ${VALIDATION} } }`;
const UPDATE = `mutation($id: ID!, $i: UpdateAgentInput!) { updateAgent(id: $id, input: $i) { __typename ... on Agent { ${AGENT_FIELDS} } ${VALIDATION} ${NOT_FOUND} } }`;
const DELETE = `mutation($id: ID!) { deleteAgent(id: $id) { __typename ... on DeletedAgent { id } ${NOT_FOUND} } }`;
const GET = `query($id: ID!) { agent(id: $id) { ${AGENT_FIELDS} } }`;

const designed = {
  name: 'Ava',
  role: 'Support agent',
  persona: 'Warm, concise, never pushy.',
  jobDescription: 'Answers order questions for the web shop.',
  statementOfWork: 'Looks up orders; never issues refunds.',
  systemPrompt: 'You are Ava, the support agent of Example Shop.',
  businessFunctions: ['customer support', 'order tracking'],
  modelPreferences: { group: 'default', models: ['openai:gpt-4o-mini', 'anthropic:claude-haiku'] },
  onBudgetExhausted: 'CHEAPER_MODEL',
  status: 'PAUSED',
};

describe('agents', () => {
  it('round-trips every designer field through create, read, partial update and delete', async () => {
    const admin = as.admin(h.tenantA.tenantId);
    const created = await h.sub.call(CREATE, { i: designed }, admin);
    expect(created.errors).toBeUndefined();
    const agent = created.data.createAgent;
    expect(agent).toMatchObject({ __typename: 'Agent', ...designed });

    const read = await h.sub.call(GET, { id: agent.id }, admin);
    const { __typename: _t, ...fields } = agent;
    expect(read.data.agent).toEqual(fields);

    const row = await h.owner.query('SELECT tenant_id, on_budget_exhausted, status FROM agents WHERE id = $1', [agent.id]);
    expect(row.rows[0]).toEqual({ tenant_id: h.tenantA.tenantId, on_budget_exhausted: 'cheaper_model', status: 'paused' });

    const updated = await h.sub.call(UPDATE, { id: agent.id, i: { systemPrompt: 'Be brief.', status: 'ACTIVE', role: null } }, admin);
    expect(updated.data.updateAgent).toMatchObject({ ...designed, systemPrompt: 'Be brief.', status: 'ACTIVE' });
    expect(new Date(updated.data.updateAgent.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(agent.updatedAt).getTime());

    const deleted = await h.sub.call(DELETE, { id: agent.id }, admin);
    expect(deleted.data.deleteAgent).toEqual({ __typename: 'DeletedAgent', id: agent.id });
    expect((await h.sub.call(GET, { id: agent.id }, admin)).data.agent).toBeNull();
    const again = await h.sub.call(DELETE, { id: agent.id }, admin);
    expect(again.data.deleteAgent).toMatchObject({ __typename: 'NotFound', id: agent.id });
  });

  it('uses the database defaults for fields left out', async () => {
    const r = await h.sub.call(CREATE, { i: { name: '  Minimal  ' } }, as.admin(h.tenantA.tenantId));
    expect(r.data.createAgent).toMatchObject({
      name: 'Minimal',
      role: '',
      businessFunctions: [],
      modelPreferences: {},
      onBudgetExhausted: 'REFUSE',
      status: 'ACTIVE',
    });
  });

  it('returns validation problems as ValidationError with the field', async () => {
    const admin = as.admin(h.tenantA.tenantId);
    const cases: [Record<string, unknown>, string][] = [
      [{ name: '' }, 'name'],
      [{ name: 'x'.repeat(121) }, 'name'],
      [{ name: 'ok', systemPrompt: 'p'.repeat(20_001) }, 'systemPrompt'],
      [{ name: 'ok', businessFunctions: Array.from({ length: 21 }, (_, i) => `f${i}`) }, 'businessFunctions'],
      [{ name: 'ok', businessFunctions: ['b'.repeat(201)] }, 'businessFunctions'],
      [{ name: 'ok', modelPreferences: ['not', 'an', 'object'] }, 'modelPreferences'],
    ];
    for (const [input, field] of cases) {
      const r = await h.sub.call(CREATE, { i: input }, admin);
      expect(r.data.createAgent, field).toMatchObject({ __typename: 'ValidationError', field });
    }
    const id = await makeAgent(h, h.tenantA);
    const r = await h.sub.call(UPDATE, { id, i: { name: ' ' } }, admin);
    expect(r.data.updateAgent).toMatchObject({ __typename: 'ValidationError', field: 'name' });
    expect((await h.sub.call(GET, { id }, admin)).data.agent.name).toMatch(/^Agent /);
  });

  it('answers NotFound for an unknown or malformed id', async () => {
    const admin = as.admin(h.tenantA.tenantId);
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      expect((await h.sub.call(UPDATE, { id, i: { name: 'x' } }, admin)).data.updateAgent).toMatchObject({ __typename: 'NotFound', id });
      expect((await h.sub.call(DELETE, { id }, admin)).data.deleteAgent).toMatchObject({ __typename: 'NotFound', id });
      expect((await h.sub.call(GET, { id }, admin)).data.agent).toBeNull();
    }
  });

  it('pages newest first, by 2, without duplicates or gaps', async () => {
    const tenant = await createTenant(h.owner, 'Paging');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await makeAgent(h, tenant, `Agent ${i}`));
    const seen: string[] = [];
    let after: string | null = null;
    const sizes: number[] = [];
    for (let guard = 0; guard < 10; guard++) {
      const r: any = await h.sub.call(
        `query($after: String) { agents(first: 2, after: $after) { items { id createdAt } nextCursor } }`,
        { after },
        as.viewer(tenant.tenantId),
      );
      expect(r.errors).toBeUndefined();
      sizes.push(r.data.agents.items.length);
      seen.push(...r.data.agents.items.map((a: { id: string }) => a.id));
      after = r.data.agents.nextCursor;
      if (!after) break;
    }
    expect(sizes).toEqual([2, 2, 1]);
    expect(seen).toEqual([...ids].reverse());

    const clamped = await h.sub.call(`{ agents(first: 0) { items { id } nextCursor } }`, {}, as.viewer(tenant.tenantId));
    expect(clamped.data.agents.items).toHaveLength(1);
    const bad = await h.sub.call(`{ agents(after: "garbage") { items { id } } }`, {}, as.viewer(tenant.tenantId));
    expect(bad.errors?.[0]?.extensions?.code).toBe('VALIDATION');
  });
});
