import { randomUUID } from 'node:crypto';
import type { TenantScope } from '@konstruct/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, makeAgent, startHarness, type Harness } from './harness.ts';

let h: Harness;
let agentA: string;
let convA: string;
let convA2: string;
let handoffA: string;
let messages: string[];
let convB: string;

/** Conversations arrive through the channel bridge, not this API: seed them as the owner. */
async function seedConversation(tenant: TenantScope, agentId: string, state = 'active') {
  const connection = randomUUID();
  await h.owner.query(
    `INSERT INTO channel_connections (id, tenant_id, kind, external_id) VALUES ($1, $2, 'slack', $3)`,
    [connection, tenant.tenantId, `T${connection.slice(0, 8)}`],
  );
  const id = randomUUID();
  await h.owner.query(
    `INSERT INTO conversations (id, tenant_id, agent_id, connection_id, channel_kind, external_ref, end_user_external_id, state, last_message_at)
     VALUES ($1, $2, $3, $4, 'slack', $5, 'U123', $6, now())`,
    [id, tenant.tenantId, agentId, connection, `slack:T1:C1:${id}`, state],
  );
  return id;
}

async function seedMessage(tenant: TenantScope, conversationId: string, n: number, at: string) {
  const id = randomUUID();
  await h.owner.query(
    `INSERT INTO messages (id, tenant_id, conversation_id, direction, author, channel_kind, text, delivery_state, delivery_error, created_at)
     VALUES ($1, $2, $3, $4, $5, 'slack', $6, $7, $8, $9)`,
    [
      id,
      tenant.tenantId,
      conversationId,
      n % 2 ? 'outbound' : 'inbound',
      n % 2 ? 'agent' : 'end_user',
      `message ${n}`,
      n === 3 ? 'failed' : n % 2 ? 'sent' : 'received',
      n === 3 ? 'channel_not_found' : null,
      at,
    ],
  );
  return id;
}

beforeAll(async () => {
  h = await startHarness();
  agentA = await makeAgent(h, h.tenantA);
  convA = await seedConversation(h.tenantA, agentA);
  convA2 = await seedConversation(h.tenantA, await makeAgent(h, h.tenantA), 'closed');
  messages = [];
  for (let n = 0; n < 4; n++) messages.push(await seedMessage(h.tenantA, convA, n, `2026-01-01T10:00:0${n}.000Z`));
  handoffA = randomUUID();
  await h.owner.query(
    `INSERT INTO handoffs (id, tenant_id, conversation_id, agent_id, reason, summary) VALUES ($1, $2, $3, $4, 'asked for a human', 'Wants a refund')`,
    [handoffA, h.tenantA.tenantId, convA, agentA],
  );
  const agentB = await makeAgent(h, h.tenantB);
  convB = await seedConversation(h.tenantB, agentB);
  await h.owner.query(
    `INSERT INTO handoffs (id, tenant_id, conversation_id, agent_id, reason) VALUES ($1, $2, $3, $4, 'B')`,
    [randomUUID(), h.tenantB.tenantId, convB, agentB],
  );
});
afterAll(async () => {
  await h?.close();
});

describe('conversations, messages and handoffs', () => {
  it('reads a conversation with its messages, newest first, page by page', async () => {
    const q = `query($id: ID!, $after: String) { conversation(id: $id) {
      id agentId agent { id } channelKind endUserExternalId state lastMessageAt
      messages(first: 3, after: $after) { items { id direction author text deliveryState deliveryError createdAt } nextCursor } } }`;
    const viewer = as.viewer(h.tenantA.tenantId);
    const first = await h.sub.call(q, { id: convA }, viewer);
    expect(first.errors).toBeUndefined();
    const c = first.data.conversation;
    expect(c).toMatchObject({ id: convA, agentId: agentA, agent: { id: agentA }, channelKind: 'SLACK', endUserExternalId: 'U123', state: 'ACTIVE' });
    expect(c.lastMessageAt).toEqual(expect.any(String));
    expect(c.messages.items.map((m: { id: string }) => m.id)).toEqual([messages[3], messages[2], messages[1]]);
    expect(c.messages.items[0]).toMatchObject({
      direction: 'OUTBOUND',
      author: 'AGENT',
      text: 'message 3',
      deliveryState: 'FAILED',
      deliveryError: 'channel_not_found',
      createdAt: '2026-01-01T10:00:03.000Z',
    });
    const second = await h.sub.call(q, { id: convA, after: c.messages.nextCursor }, viewer);
    expect(second.data.conversation.messages).toEqual({
      items: [expect.objectContaining({ id: messages[0], direction: 'INBOUND', author: 'END_USER', deliveryError: null })],
      nextCursor: null,
    });
  });

  it('lists conversations by agent and state', async () => {
    const q = `query($agentId: ID, $state: ConversationState) { conversations(agentId: $agentId, state: $state) { items { id } } }`;
    const admin = as.admin(h.tenantA.tenantId);
    const ids = async (v: Record<string, unknown>) =>
      (await h.sub.call(q, v, admin)).data.conversations.items.map((c: { id: string }) => c.id);
    expect(await ids({})).toEqual([convA2, convA]);
    expect(await ids({ agentId: agentA })).toEqual([convA]);
    expect(await ids({ state: 'CLOSED' })).toEqual([convA2]);
    expect(await ids({ agentId: 'not-a-uuid' })).toEqual([]);
    const viaAgent = await h.sub.call(`query($id: ID!) { agent(id: $id) { conversations { items { id } nextCursor } } }`, { id: agentA }, admin);
    expect(viaAgent.data.agent.conversations).toEqual({ items: [{ id: convA }], nextCursor: null });
  });

  it('lists handoffs by status', async () => {
    const q = `query($s: HandoffStatus) { handoffs(status: $s) { items { id status reason summary agent { id } conversation { id } releasedAt } } }`;
    const admin = as.admin(h.tenantA.tenantId);
    const open = await h.sub.call(q, { s: 'OPEN' }, admin);
    expect(open.data.handoffs.items).toEqual([
      { id: handoffA, status: 'OPEN', reason: 'asked for a human', summary: 'Wants a refund', agent: { id: agentA }, conversation: { id: convA }, releasedAt: null },
    ]);
    expect((await h.sub.call(q, { s: 'RELEASED' }, admin)).data.handoffs.items).toEqual([]);
  });

  it("does not show tenant B's conversations or handoffs to tenant A", async () => {
    const adminA = as.admin(h.tenantA.tenantId);
    expect((await h.sub.call(`query($id: ID!) { conversation(id: $id) { id } }`, { id: convB }, adminA)).data.conversation).toBeNull();
    const all = await h.sub.call(`{ conversations(first: 100) { items { id } } handoffs(first: 100) { items { id } } }`, {}, adminA);
    expect(all.data.conversations.items.map((c: { id: string }) => c.id)).not.toContain(convB);
    expect(all.data.handoffs.items).toEqual([{ id: handoffA }]);
    const ent = await h.sub.call(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Conversation { id } } }`,
      { r: [{ __typename: 'Conversation', id: convB }] },
      adminA,
    );
    expect(ent.data._entities).toEqual([null]);
  });
});
