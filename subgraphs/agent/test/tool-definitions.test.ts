import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptSecret, secretContext } from '@konstruct/core';
import { NOT_FOUND, TOOL_FIELDS, VALIDATION, as, makeAgent, makeTool, startHarness, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const CREATE = `mutation($i: CreateToolDefinitionInput!) {
  createToolDefinition(input: $i) { __typename ... on ToolDefinition { ${TOOL_FIELDS} } ${VALIDATION} } }`;
const UPDATE = `mutation($id: ID!, $i: UpdateToolDefinitionInput!) {
  updateToolDefinition(id: $id, input: $i) { __typename ... on ToolDefinition { ${TOOL_FIELDS} } ${VALIDATION} ${NOT_FOUND} } }`;
const DELETE = `mutation($id: ID!) { deleteToolDefinition(id: $id) { __typename ... on DeletedToolDefinition { id } ${NOT_FOUND} } }`;
const GET = `query($id: ID!) { toolDefinition(id: $id) { ${TOOL_FIELDS} } }`;

const SECRET = 'whsec_0123456789abcdef-very-secret';

const storedSecret = async (id: string): Promise<string | null> =>
  (await h.owner.query('SELECT hmac_secret_enc FROM tool_definitions WHERE id = $1', [id])).rows[0]?.hmac_secret_enc ?? null;

describe('tool definitions', () => {
  it('round-trips a tool; the HMAC secret is sealed in the database and never returned', async () => {
    const admin = as.admin(h.tenantA.tenantId);
    const input = {
      name: 'lookup_order',
      description: 'Looks up an order by its number.',
      kind: 'HTTP',
      parameters: { type: 'object', properties: { number: { type: 'string' } }, required: ['number'] },
      url: 'https://shop.example.com/tools/order',
      method: 'get',
      hmacSecret: SECRET,
      timeoutMs: 5000,
      maxResponseBytes: 1024 * 1024,
    };
    const created = await h.sub.call(CREATE, { i: input }, admin);
    expect(JSON.stringify(created)).not.toContain(SECRET);
    const tool = created.data.createToolDefinition;
    const { hmacSecret: _secret, ...visible } = input;
    expect(tool).toMatchObject({ __typename: 'ToolDefinition', ...visible, method: 'GET', hmacSecretSet: true, allowPrivateNetwork: false });

    const sealed = await storedSecret(tool.id);
    expect(sealed).toMatch(/^kv1\./);
    expect(sealed).not.toContain(SECRET);
    expect(decryptSecret(h.keyring, sealed!, secretContext('tool_definitions', 'hmac_secret', tool.id))).toBe(SECRET);

    const read = await h.sub.call(GET, { id: tool.id }, as.viewer(h.tenantA.tenantId));
    const { __typename: _t, ...fields } = tool;
    expect(read.data.toolDefinition).toEqual(fields);
    const list = await h.sub.call(`{ toolDefinitions { items { id hmacSecretSet } } }`, {}, admin);
    expect(list.data.toolDefinitions.items).toContainEqual({ id: tool.id, hmacSecretSet: true });

    // A change that does not mention the secret keeps it.
    const renamed = await h.sub.call(UPDATE, { id: tool.id, i: { description: 'Finds an order.', timeoutMs: 100 } }, admin);
    expect(renamed.data.updateToolDefinition).toMatchObject({ description: 'Finds an order.', timeoutMs: 100, hmacSecretSet: true, method: 'GET' });
    expect(await storedSecret(tool.id)).toBe(sealed);

    // A new secret replaces it; clearing removes it.
    await h.sub.call(UPDATE, { id: tool.id, i: { hmacSecret: `${SECRET}-2` } }, admin);
    const resealed = await storedSecret(tool.id);
    expect(resealed).not.toBe(sealed);
    expect(decryptSecret(h.keyring, resealed!, secretContext('tool_definitions', 'hmac_secret', tool.id))).toBe(`${SECRET}-2`);
    const cleared = await h.sub.call(UPDATE, { id: tool.id, i: { clearHmacSecret: true } }, admin);
    expect(cleared.data.updateToolDefinition.hmacSecretSet).toBe(false);
    expect(await storedSecret(tool.id)).toBeNull();

    expect((await h.sub.call(DELETE, { id: tool.id }, admin)).data.deleteToolDefinition).toEqual({
      __typename: 'DeletedToolDefinition',
      id: tool.id,
    });
    expect((await h.sub.call(GET, { id: tool.id }, admin)).data.toolDefinition).toBeNull();
    expect((await h.sub.call(DELETE, { id: tool.id }, admin)).data.deleteToolDefinition.__typename).toBe('NotFound');
  });

  it('exposes no field that could carry the secret', async () => {
    const r = await h.sub.call(`{ __type(name: "ToolDefinition") { fields { name } } }`, {}, as.admin(h.tenantA.tenantId));
    const names: string[] = r.data.__type.fields.map((f: { name: string }) => f.name);
    expect(names).toContain('hmacSecretSet');
    expect(names.filter((n) => /secret|enc/i.test(n))).toEqual(['hmacSecretSet']);
  });

  it('returns validation problems as ValidationError with the field', async () => {
    const admin = as.admin(h.tenantA.tenantId);
    const base = { name: 'ok_tool', description: 'Does things.', kind: 'HTTP', url: 'https://tools.example.com/x' };
    const cases: [Record<string, unknown>, string][] = [
      [{ name: '9lives' }, 'name'],
      [{ name: 'has space' }, 'name'],
      [{ url: 'http://tools.example.com/x' }, 'url'],
      [{ url: 'https://127.0.0.1/x' }, 'url'],
      [{ url: null }, 'url'],
      [{ parameters: { type: 'array' } }, 'parameters'],
      [{ timeoutMs: 50 }, 'timeoutMs'],
      [{ timeoutMs: 60_001 }, 'timeoutMs'],
      [{ maxResponseBytes: 1024 * 1024 + 1 }, 'maxResponseBytes'],
      [{ hmacSecret: 'short' }, 'hmacSecret'],
    ];
    for (const [over, field] of cases) {
      const r = await h.sub.call(CREATE, { i: { ...base, ...over } }, admin);
      expect(r.data.createToolDefinition, JSON.stringify(over)).toMatchObject({ __typename: 'ValidationError', field });
    }
    // Plain http to a private address is fine once the tool is allowed on the private network.
    const internal = await h.sub.call(CREATE, { i: { ...base, url: 'http://10.0.0.8:8080/x', allowPrivateNetwork: true } }, admin);
    expect(internal.data.createToolDefinition).toMatchObject({ __typename: 'ToolDefinition', url: 'http://10.0.0.8:8080/x' });
    const tightened = await h.sub.call(UPDATE, { id: internal.data.createToolDefinition.id, i: { allowPrivateNetwork: false } }, admin);
    expect(tightened.data.updateToolDefinition).toMatchObject({ __typename: 'ValidationError', field: 'url' });
  });

  it('refuses a second tool with the same name in the tenant, but not in another tenant', async () => {
    await makeTool(h, h.tenantA, { name: 'same_name' });
    const dup = await h.sub.call(
      CREATE,
      { i: { name: 'same_name', description: 'x', kind: 'BUILTIN' } },
      as.admin(h.tenantA.tenantId),
    );
    expect(dup.data.createToolDefinition).toMatchObject({ __typename: 'ValidationError', field: 'name' });
    const other = await makeTool(h, h.tenantB, { name: 'same_name' });
    expect(other).toBeTruthy();
    const id = await makeTool(h, h.tenantA, { name: 'other_name' });
    const rename = await h.sub.call(UPDATE, { id, i: { name: 'same_name' } }, as.admin(h.tenantA.tenantId));
    expect(rename.data.updateToolDefinition).toMatchObject({ __typename: 'ValidationError', field: 'name' });
  });

  it('assigns tools to agents idempotently and unassigns them', async () => {
    const admin = as.admin(h.tenantA.tenantId);
    const agent = await makeAgent(h, h.tenantA);
    const t1 = await makeTool(h, h.tenantA, { hmacSecret: SECRET });
    const t2 = await makeTool(h, h.tenantA, { kind: 'BUILTIN', url: null });
    const ASSIGN = `mutation($a: ID!, $t: ID!) { assignTool(agentId: $a, toolId: $t) { __typename ... on Agent { id tools { id hmacSecretSet } } ${NOT_FOUND} } }`;
    const UNASSIGN = `mutation($a: ID!, $t: ID!) { unassignTool(agentId: $a, toolId: $t) { __typename ... on Agent { tools { id } } ${NOT_FOUND} } }`;

    await h.sub.call(ASSIGN, { a: agent, t: t1 }, admin);
    const twice = await h.sub.call(ASSIGN, { a: agent, t: t1 }, admin);
    expect(twice.data.assignTool.tools).toEqual([{ id: t1, hmacSecretSet: true }]);
    const both = await h.sub.call(ASSIGN, { a: agent, t: t2 }, admin);
    expect(both.data.assignTool.tools.map((t: { id: string }) => t.id)).toEqual([t1, t2]);
    const rows = await h.owner.query('SELECT tenant_id FROM agent_tools WHERE agent_id = $1', [agent]);
    expect(rows.rows).toEqual([{ tenant_id: h.tenantA.tenantId }, { tenant_id: h.tenantA.tenantId }]);

    expect((await h.sub.call(UNASSIGN, { a: agent, t: t1 }, admin)).data.unassignTool.tools).toEqual([{ id: t2 }]);
    expect((await h.sub.call(UNASSIGN, { a: agent, t: t1 }, admin)).data.unassignTool.tools).toEqual([{ id: t2 }]);

    const missingTool = await h.sub.call(ASSIGN, { a: agent, t: '00000000-0000-4000-8000-000000000000' }, admin);
    expect(missingTool.data.assignTool).toMatchObject({ __typename: 'NotFound', message: expect.stringContaining('ToolDefinition') });
    const missingAgent = await h.sub.call(ASSIGN, { a: '00000000-0000-4000-8000-000000000000', t: t2 }, admin);
    expect(missingAgent.data.assignTool).toMatchObject({ __typename: 'NotFound', message: expect.stringContaining('Agent') });

    // Deleting a tool removes it from the agent.
    await h.sub.call(DELETE, { id: t2 }, admin);
    const after = await h.sub.call(`query($id: ID!) { agent(id: $id) { tools { id } } }`, { id: agent }, admin);
    expect(after.data.agent.tools).toEqual([]);
  });

  it("cannot assign another tenant's tool, or touch another tenant's tool by id", async () => {
    const adminA = as.admin(h.tenantA.tenantId);
    const agentA = await makeAgent(h, h.tenantA);
    const toolB = await makeTool(h, h.tenantB, { hmacSecret: SECRET });
    const r = await h.sub.call(
      `mutation($a: ID!, $t: ID!) { assignTool(agentId: $a, toolId: $t) { __typename ${NOT_FOUND} } }`,
      { a: agentA, t: toolB },
      adminA,
    );
    expect(r.data.assignTool).toMatchObject({ __typename: 'NotFound', id: toolB });
    expect((await h.owner.query('SELECT 1 FROM agent_tools WHERE tool_id = $1', [toolB])).rowCount).toBe(0);

    expect((await h.sub.call(GET, { id: toolB }, adminA)).data.toolDefinition).toBeNull();
    expect((await h.sub.call(UPDATE, { id: toolB, i: { description: 'mine now' } }, adminA)).data.updateToolDefinition.__typename).toBe(
      'NotFound',
    );
    expect((await h.sub.call(DELETE, { id: toolB }, adminA)).data.deleteToolDefinition.__typename).toBe('NotFound');
    const list = await h.sub.call(`{ toolDefinitions(first: 100) { items { id } } }`, {}, adminA);
    expect(list.data.toolDefinitions.items.map((t: { id: string }) => t.id)).not.toContain(toolB);
    const still = await h.owner.query('SELECT description FROM tool_definitions WHERE id = $1', [toolB]);
    expect(still.rows[0].description).toBe('Does a thing.');
  });
});
