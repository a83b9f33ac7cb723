import { randomUUID } from 'node:crypto';
import type { TenantScope } from '@konstruct/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, makeAgent, NOT_FOUND, startHarness, type Harness } from './harness.ts';

let h: Harness;

/** A paused conversation with an open handoff, as the runner leaves it. */
async function seedHandoff(tenant: TenantScope) {
  const agentId = await makeAgent(h, tenant);
  const connection = randomUUID();
  await h.owner.query(`INSERT INTO channel_connections (id, tenant_id, kind, external_id) VALUES ($1, $2, 'slack', $3)`, [
    connection,
    tenant.tenantId,
    `T${connection.slice(0, 8)}`,
  ]);
  const conversationId = randomUUID();
  await h.owner.query(
    `INSERT INTO conversations (id, tenant_id, agent_id, connection_id, channel_kind, external_ref, end_user_external_id, state)
     VALUES ($1, $2, $3, $4, 'slack', $5, 'U123', 'paused')`,
    [conversationId, tenant.tenantId, agentId, connection, `slack:T1:C1:${conversationId}`],
  );
  const id = randomUUID();
  await h.owner.query(`INSERT INTO handoffs (id, tenant_id, conversation_id, agent_id, reason) VALUES ($1, $2, $3, $4, 'asked for a human')`, [
    id,
    tenant.tenantId,
    conversationId,
    agentId,
  ]);
  return { id, conversationId };
}

const RELEASE = `mutation($id: ID!) { releaseHandoff(id: $id) { __typename ... on Handoff { id status releasedBy releasedAt conversation { id state } } ${NOT_FOUND} } }`;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('releaseHandoff', () => {
  it('releases the handoff, reactivates the conversation and audits it, once', async () => {
    const { id, conversationId } = await seedHandoff(h.tenantA);
    const admin = as.admin(h.tenantA.tenantId);
    const r = await h.sub.call(RELEASE, { id }, admin);
    expect(r.errors).toBeUndefined();
    const actorId = (admin.actor as { id: string }).id;
    expect(r.data.releaseHandoff).toMatchObject({ __typename: 'Handoff', id, status: 'RELEASED', releasedBy: `operator:${actorId}`, conversation: { id: conversationId, state: 'ACTIVE' } });

    const again = await h.sub.call(RELEASE, { id }, as.admin(h.tenantA.tenantId));
    expect(again.data.releaseHandoff).toMatchObject({ status: 'RELEASED', releasedBy: `operator:${actorId}` });
    const audit = await h.owner.query(`SELECT actor_kind, actor_id, data FROM audit_events WHERE tenant_id = $1 AND action = 'handoff.released' AND subject_id = $2`, [
      h.tenantA.tenantId,
      id,
    ]);
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0]).toMatchObject({ actor_kind: 'operator', actor_id: actorId, data: { handoffId: id, conversationId } });
  });

  it('is refused to viewers and cannot reach another tenant', async () => {
    const { id } = await seedHandoff(h.tenantB);
    const viewer = await h.sub.call(RELEASE, { id }, as.viewer(h.tenantB.tenantId));
    expect(viewer.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const other = await h.sub.call(RELEASE, { id }, as.admin(h.tenantA.tenantId));
    expect(other.data.releaseHandoff).toEqual({ __typename: 'NotFound', message: expect.any(String), id });
    const row = await h.owner.query('SELECT status FROM handoffs WHERE id = $1', [id]);
    expect(row.rows[0].status).toBe('open');
  });
});
