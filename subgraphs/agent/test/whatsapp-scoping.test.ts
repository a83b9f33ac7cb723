import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOT_FOUND, VALIDATION, as, startHarness, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const CREATE = `mutation($i: CreateAgentInput!) { createAgent(input: $i) { __typename ... on Agent { id } } }`;
const UPDATE = `mutation($id: ID!, $i: UpdateAgentInput!) { updateAgent(id: $id, input: $i) {
  __typename ... on Agent { id name businessFunctions } ${VALIDATION} ${NOT_FOUND} } }`;

async function agentWith(functions: string[]): Promise<string> {
  const r = await h.sub.call(CREATE, { i: { name: 'Ava', businessFunctions: functions } }, as.admin(h.tenantA.tenantId));
  return r.data.createAgent.id;
}

async function attach(agentId: string, kind: 'slack' | 'whatsapp', tenantId = h.tenantA.tenantId) {
  await h.owner.query(`INSERT INTO channel_connections (id, tenant_id, kind, external_id, agent_id, updated_at) VALUES ($1, $2, $3, $4, $5, now())`, [
    randomUUID(),
    tenantId,
    kind,
    `X${randomBytes(6).toString('hex')}`,
    agentId,
  ]);
}

describe('agent: business functions stay declared while on WhatsApp (CHAN-04)', () => {
  it('refuses to empty the business functions of an agent attached to WhatsApp, saying why', async () => {
    const id = await agentWith(['Bread and cake orders', 'Opening hours']);
    await attach(id, 'whatsapp');
    const r = await h.sub.call(UPDATE, { id, i: { businessFunctions: [] } }, as.admin(h.tenantA.tenantId));
    expect(r.data.updateAgent).toMatchObject({ __typename: 'ValidationError', field: 'businessFunctions' });
    expect(r.data.updateAgent.message).toMatch(/WhatsApp/);
    expect(r.data.updateAgent.message).toMatch(/general-purpose AI assistants/);
    const row = await h.owner.query('SELECT business_functions FROM agents WHERE id = $1', [id]);
    expect(row.rows[0].business_functions).toEqual(['Bread and cake orders', 'Opening hours']);
  });

  it('still lets the functions change, and other fields update', async () => {
    const id = await agentWith(['Bread and cake orders']);
    await attach(id, 'whatsapp');
    const changed = await h.sub.call(UPDATE, { id, i: { businessFunctions: ['Catering'], name: 'Ava B' } }, as.admin(h.tenantA.tenantId));
    expect(changed.data.updateAgent).toEqual({ __typename: 'Agent', id, name: 'Ava B', businessFunctions: ['Catering'] });
    const untouched = await h.sub.call(UPDATE, { id, i: { name: 'Ava C' } }, as.admin(h.tenantA.tenantId));
    expect(untouched.data.updateAgent).toMatchObject({ name: 'Ava C', businessFunctions: ['Catering'] });
  });

  it('allows empty functions for an agent on Slack only, or on no channel', async () => {
    const slackOnly = await agentWith(['Internal IT questions']);
    await attach(slackOnly, 'slack');
    const r = await h.sub.call(UPDATE, { id: slackOnly, i: { businessFunctions: [] } }, as.admin(h.tenantA.tenantId));
    expect(r.data.updateAgent).toMatchObject({ __typename: 'Agent', businessFunctions: [] });
    const loose = await agentWith(['Anything']);
    expect((await h.sub.call(UPDATE, { id: loose, i: { businessFunctions: [] } }, as.admin(h.tenantA.tenantId))).data.updateAgent.__typename).toBe(
      'Agent',
    );
  });

  it("answers NotFound, not the WhatsApp rule, for another tenant's agent", async () => {
    const id = await agentWith(['Orders']);
    await attach(id, 'whatsapp');
    const r = await h.sub.call(UPDATE, { id, i: { businessFunctions: [] } }, as.admin(h.tenantB.tenantId));
    expect(r.data.updateAgent).toMatchObject({ __typename: 'NotFound', id });
  });
});
