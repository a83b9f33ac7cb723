import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { keyringFrom, type MasterKeyring } from '@konstruct/core';
import type { TenantScope } from '@konstruct/db';
import { createTenant, ownerClient } from '../../../test/support/db.ts';
import { as, startTestSubgraph } from '../../../test/support/subgraph.ts';
import { schema } from '../src/schema/index.ts';
import type { AgentContextExtra } from '../src/builder.ts';

export { as };

export interface Harness {
  sub: Awaited<ReturnType<typeof startTestSubgraph>>;
  owner: pg.Client;
  keyring: MasterKeyring;
  tenantA: TenantScope;
  tenantB: TenantScope;
  close(): Promise<void>;
}

/** The agent subgraph in-process on the test database, with two fresh tenants. */
export async function startHarness(): Promise<Harness> {
  const keyring = keyringFrom(randomBytes(32).toString('base64'));
  const extra: AgentContextExtra = { keyring };
  const sub = await startTestSubgraph('agent-subgraph', schema, extra);
  const owner = await ownerClient();
  const tenantA = await createTenant(owner, 'Tenant A');
  const tenantB = await createTenant(owner, 'Tenant B');
  return {
    sub,
    owner,
    keyring,
    tenantA,
    tenantB,
    async close() {
      await owner.end();
      await sub.close();
    },
  };
}

export const AGENT_FIELDS = `
  id name role persona jobDescription statementOfWork systemPrompt businessFunctions
  modelPreferences onBudgetExhausted status createdAt updatedAt`;

export const TOOL_FIELDS = `
  id name description kind parameters url method hmacSecretSet timeoutMs maxResponseBytes
  allowPrivateNetwork createdAt updatedAt`;

export const VALIDATION = `... on ValidationError { __typename message field }`;
export const NOT_FOUND = `... on NotFound { __typename message id }`;

/** Creates an agent as the tenant's admin and returns its id. */
export async function makeAgent(h: Harness, tenant: TenantScope, name = `Agent ${randomUUID().slice(0, 8)}`): Promise<string> {
  const r = await h.sub.call(
    `mutation($i: CreateAgentInput!) { createAgent(input: $i) { __typename ... on Agent { id } } }`,
    { i: { name } },
    as.admin(tenant.tenantId),
  );
  if (r.data?.createAgent?.__typename !== 'Agent') throw new Error(`createAgent failed: ${JSON.stringify(r)}`);
  return r.data.createAgent.id;
}

export async function makeTool(h: Harness, tenant: TenantScope, input: Record<string, unknown> = {}): Promise<string> {
  const r = await h.sub.call(
    `mutation($i: CreateToolDefinitionInput!) { createToolDefinition(input: $i) { __typename ... on ToolDefinition { id } } }`,
    {
      i: {
        name: `tool_${randomUUID().slice(0, 8)}`,
        description: 'Does a thing.',
        kind: 'HTTP',
        url: 'https://tools.example.com/hook',
        ...input,
      },
    },
    as.admin(tenant.tenantId),
  );
  if (r.data?.createToolDefinition?.__typename !== 'ToolDefinition') throw new Error(`createToolDefinition failed: ${JSON.stringify(r)}`);
  return r.data.createToolDefinition.id;
}
