import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOT_FOUND, VALIDATION, as, makeAgent, startHarness, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const RULE = 'id agentId trigger pattern threshold target priority enabled createdAt';
const CREATE = `mutation($a: ID!, $i: CreateEscalationRuleInput!) {
  createEscalationRule(agentId: $a, input: $i) { __typename ... on EscalationRule { ${RULE} } ${VALIDATION} ${NOT_FOUND} } }`;
const UPDATE = `mutation($id: ID!, $i: UpdateEscalationRuleInput!) {
  updateEscalationRule(id: $id, input: $i) { __typename ... on EscalationRule { ${RULE} } ${VALIDATION} ${NOT_FOUND} } }`;
const DELETE = `mutation($id: ID!) { deleteEscalationRule(id: $id) { __typename ... on DeletedEscalationRule { id } ${NOT_FOUND} } }`;
const RULES = `query($id: ID!) { agent(id: $id) { escalationRules { id trigger priority } } }`;

describe('escalation rules', () => {
  it('round-trips rules on an agent, in priority order', async () => {
    const admin = as.admin(h.tenantA.tenantId);
    const agent = await makeAgent(h, h.tenantA);
    const target = { kind: 'slack', connectionId: 'c1', channel: 'C0ESCALATE' };
    const kw = await h.sub.call(CREATE, { a: agent, i: { trigger: 'KEYWORD', pattern: 'refund, lawyer', target, priority: 5 } }, admin);
    expect(kw.data.createEscalationRule).toMatchObject({
      __typename: 'EscalationRule',
      agentId: agent,
      trigger: 'KEYWORD',
      pattern: 'refund, lawyer',
      threshold: null,
      target,
      priority: 5,
      enabled: true,
    });
    const tf = await h.sub.call(CREATE, { a: agent, i: { trigger: 'TOOL_FAILURES', threshold: 3, priority: 10 } }, admin);
    const re = await h.sub.call(CREATE, { a: agent, i: { trigger: 'PATTERN', pattern: '\\b(cancel|close) my account\\b' } }, admin);
    const ids = [tf, kw, re].map((r) => r.data.createEscalationRule.id);

    const listed = await h.sub.call(RULES, { id: agent }, as.viewer(h.tenantA.tenantId));
    expect(listed.data.agent.escalationRules.map((r: { id: string }) => r.id)).toEqual(ids);

    const kwId = kw.data.createEscalationRule.id;
    const updated = await h.sub.call(UPDATE, { id: kwId, i: { enabled: false, priority: 20 } }, admin);
    expect(updated.data.updateEscalationRule).toMatchObject({ pattern: 'refund, lawyer', target, enabled: false, priority: 20 });
    const reordered = await h.sub.call(RULES, { id: agent }, admin);
    expect(reordered.data.agent.escalationRules[0].id).toBe(kwId);

    expect((await h.sub.call(DELETE, { id: kwId }, admin)).data.deleteEscalationRule).toEqual({ __typename: 'DeletedEscalationRule', id: kwId });
    expect((await h.sub.call(DELETE, { id: kwId }, admin)).data.deleteEscalationRule.__typename).toBe('NotFound');
    expect((await h.sub.call(RULES, { id: agent }, admin)).data.agent.escalationRules).toHaveLength(2);

    // Rules go with their agent.
    await h.sub.call(`mutation($id: ID!) { deleteAgent(id: $id) { __typename } }`, { id: agent }, admin);
    expect((await h.owner.query('SELECT 1 FROM escalation_rules WHERE agent_id = $1', [agent])).rowCount).toBe(0);
  });

  it('returns validation problems as ValidationError with the field', async () => {
    const admin = as.admin(h.tenantA.tenantId);
    const agent = await makeAgent(h, h.tenantA);
    const cases: [Record<string, unknown>, string][] = [
      [{ trigger: 'KEYWORD' }, 'pattern'],
      [{ trigger: 'KEYWORD', pattern: '   ' }, 'pattern'],
      [{ trigger: 'PATTERN', pattern: '(unclosed' }, 'pattern'],
      [{ trigger: 'TOOL_FAILURES' }, 'threshold'],
      [{ trigger: 'MODEL_DECIDES', priority: 5000 }, 'priority'],
      [{ trigger: 'MODEL_DECIDES', target: 'C123' }, 'target'],
    ];
    for (const [input, field] of cases) {
      const r = await h.sub.call(CREATE, { a: agent, i: input }, admin);
      expect(r.data.createEscalationRule, JSON.stringify(input)).toMatchObject({ __typename: 'ValidationError', field });
    }
    const ok = await h.sub.call(CREATE, { a: agent, i: { trigger: 'PATTERN', pattern: 'refund' } }, admin);
    const bad = await h.sub.call(UPDATE, { id: ok.data.createEscalationRule.id, i: { pattern: '[' } }, admin);
    expect(bad.data.updateEscalationRule).toMatchObject({ __typename: 'ValidationError', field: 'pattern' });
    expect((await h.owner.query('SELECT pattern FROM escalation_rules WHERE id = $1', [ok.data.createEscalationRule.id])).rows[0].pattern).toBe(
      'refund',
    );
  });

  it("cannot add a rule to another tenant's agent or change another tenant's rule", async () => {
    const agentB = await makeAgent(h, h.tenantB);
    const ruleB = await h.sub.call(CREATE, { a: agentB, i: { trigger: 'USER_REQUEST' } }, as.admin(h.tenantB.tenantId));
    const ruleId = ruleB.data.createEscalationRule.id;
    const adminA = as.admin(h.tenantA.tenantId);

    const r = await h.sub.call(CREATE, { a: agentB, i: { trigger: 'USER_REQUEST' } }, adminA);
    expect(r.data.createEscalationRule).toMatchObject({ __typename: 'NotFound', id: agentB });
    expect((await h.owner.query('SELECT 1 FROM escalation_rules WHERE agent_id = $1', [agentB])).rowCount).toBe(1);
    expect((await h.sub.call(UPDATE, { id: ruleId, i: { enabled: false } }, adminA)).data.updateEscalationRule.__typename).toBe('NotFound');
    expect((await h.sub.call(DELETE, { id: ruleId }, adminA)).data.deleteEscalationRule.__typename).toBe('NotFound');
    expect((await h.owner.query('SELECT enabled FROM escalation_rules WHERE id = $1', [ruleId])).rows).toEqual([{ enabled: true }]);
  });
});
