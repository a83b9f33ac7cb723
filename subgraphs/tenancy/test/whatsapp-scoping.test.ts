import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { keyringFrom } from '@konstruct/core';
import { schema } from '../src/index.ts';
import { createTenant, ownerClient } from '../../../test/support/db.ts';
import { as, startTestSubgraph } from '../../../test/support/subgraph.ts';

const CREATE = `mutation($i:ChannelConnectionInput!){ createChannelConnection(input:$i){ __typename
  ... on ChannelConnection { id agentId } ... on ValidationError { field message } } }`;
const UPDATE = `mutation($id:ID!,$i:UpdateChannelConnectionInput!){ updateChannelConnection(id:$id, input:$i){ __typename
  ... on ChannelConnection { id agentId } ... on ValidationError { field message } } }`;

describe('tenancy: a WhatsApp channel needs an agent with business functions (CHAN-04)', () => {
  let sg: Awaited<ReturnType<typeof startTestSubgraph>>;
  let owner: pg.Client;
  let tenant: string;
  let general: string;
  let scoped: string;

  const phoneId = () => `1${randomBytes(6).readUIntBE(0, 6)}`.slice(0, 15);

  beforeAll(async () => {
    sg = await startTestSubgraph('tenancy', schema, { jwtSecret: randomBytes(32).toString('hex'), keyring: keyringFrom(randomBytes(32).toString('base64')) });
    owner = await ownerClient();
    tenant = (await createTenant(owner)).tenantId;
    general = randomUUID();
    scoped = randomUUID();
    await owner.query(`INSERT INTO agents (id, tenant_id, name, updated_at) VALUES ($1, $2, 'Generalist', now())`, [general, tenant]);
    await owner.query(
      `INSERT INTO agents (id, tenant_id, name, business_functions, updated_at) VALUES ($1, $2, 'Ava', $3, now())`,
      [scoped, tenant, ['Bread and cake orders', 'Opening hours']],
    );
  });
  afterAll(async () => {
    await owner?.end();
    await sg?.close();
  });

  it('refuses to create a WhatsApp connection for an agent without business functions, saying why', async () => {
    const externalId = phoneId();
    const r = await sg.call(CREATE, { i: { kind: 'WHATSAPP', externalId, agentId: general } }, as.admin(tenant));
    expect(r.data.createChannelConnection).toMatchObject({ __typename: 'ValidationError', field: 'agentId' });
    expect(r.data.createChannelConnection.message).toMatch(/business functions/);
    expect(r.data.createChannelConnection.message).toMatch(/general-purpose AI assistants/);
    expect((await owner.query('SELECT count(*)::int AS n FROM channel_connections WHERE external_id = $1', [externalId])).rows[0].n).toBe(0);
  });

  it('attaches an agent with business functions, and any agent to Slack', async () => {
    const wa = await sg.call(CREATE, { i: { kind: 'WHATSAPP', externalId: phoneId(), agentId: scoped } }, as.admin(tenant));
    expect(wa.data.createChannelConnection).toMatchObject({ __typename: 'ChannelConnection', agentId: scoped });
    const slack = await sg.call(
      CREATE,
      { i: { kind: 'SLACK', externalId: `T${randomBytes(4).toString('hex').toUpperCase()}`, agentId: general } },
      as.admin(tenant),
    );
    expect(slack.data.createChannelConnection).toMatchObject({ __typename: 'ChannelConnection', agentId: general });
    // A WhatsApp number without an agent yet is fine: nothing answers there.
    const bare = await sg.call(CREATE, { i: { kind: 'WHATSAPP', externalId: phoneId() } }, as.admin(tenant));
    expect(bare.data.createChannelConnection).toMatchObject({ __typename: 'ChannelConnection', agentId: null });
  });

  it('refuses to switch a WhatsApp connection to an agent without business functions', async () => {
    const created = await sg.call(CREATE, { i: { kind: 'WHATSAPP', externalId: phoneId(), agentId: scoped } }, as.admin(tenant));
    const id = created.data.createChannelConnection.id;
    const r = await sg.call(UPDATE, { id, i: { agentId: general } }, as.admin(tenant));
    expect(r.data.updateChannelConnection).toMatchObject({ __typename: 'ValidationError', field: 'agentId' });
    expect((await owner.query('SELECT agent_id FROM channel_connections WHERE id = $1', [id])).rows[0].agent_id).toBe(scoped);
    // Other changes still go through, and detaching the agent is allowed.
    expect((await sg.call(UPDATE, { id, i: { displayName: 'Shop number' } }, as.admin(tenant))).data.updateChannelConnection.__typename).toBe(
      'ChannelConnection',
    );
    expect((await sg.call(UPDATE, { id, i: { agentId: null } }, as.admin(tenant))).data.updateChannelConnection).toMatchObject({ agentId: null });
  });
});
