import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { keyringFrom } from '@konstruct/core';
import { createTenant, ownerClient } from '../../../test/support/db.ts';
import { startTestSubgraph } from '../../../test/support/subgraph.ts';
import { schema } from '../src/schema/index.ts';

export { as } from '../../../test/support/subgraph.ts';

/** The billing subgraph on the test database, plus an owner connection for fixtures. */
export async function startBillingHarness() {
  const masterKey = randomBytes(32).toString('base64');
  const sub = await startTestSubgraph('billing-subgraph', schema, { keyring: keyringFrom(masterKey) });
  const owner = await ownerClient();
  return {
    ...sub,
    owner,
    ring: keyringFrom(masterKey),
    tenant: async (name = 'Tenant') => (await createTenant(owner, name)).tenantId,
    agent: (tenantId: string, name = 'Agent') => createAgent(owner, tenantId, name),
    async close() {
      await owner.end();
      await sub.close();
    },
  };
}
export type BillingHarness = Awaited<ReturnType<typeof startBillingHarness>>;

export async function createAgent(owner: pg.Client, tenantId: string, name = 'Agent'): Promise<string> {
  const id = randomUUID();
  await owner.query('INSERT INTO agents (id, tenant_id, name) VALUES ($1, $2, $3)', [id, tenantId, name]);
  return id;
}

export interface UsageSeed {
  tenantId: string;
  agentId: string;
  provider?: 'openai' | 'anthropic' | 'ollama';
  model?: string;
  inputTokens?: number;
  outputTokens?: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  costUsdMicros?: bigint | number;
  at: string | Date;
}

export async function insertUsage(owner: pg.Client, rows: UsageSeed[]): Promise<void> {
  for (const r of rows) {
    await owner.query(
      `INSERT INTO usage_records (id, tenant_id, agent_id, provider, model, input_tokens, output_tokens,
                                  cache_read_tokens, cache_write_tokens, cost_usd_micros, latency_ms, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 100, $11)`,
      [
        randomUUID(),
        r.tenantId,
        r.agentId,
        r.provider ?? 'openai',
        r.model ?? 'gpt-4o-mini',
        r.inputTokens ?? 0,
        r.outputTokens ?? 0,
        r.cacheReadTokens ?? 0,
        r.cacheWriteTokens ?? 0,
        String(r.costUsdMicros ?? 0),
        new Date(r.at).toISOString(),
      ],
    );
  }
}

/** The GraphQL error codes of a response, for compact assertions. */
export const codes = (res: { errors?: { extensions?: { code?: string } }[] }) => (res.errors ?? []).map((e) => e.extensions?.code);
