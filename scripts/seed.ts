import pg from 'pg';
import { randomUUID } from 'node:crypto';
import { encryptSecret, secretContext, secretHint, type MasterKeyring } from '@konstruct/core';

export interface DemoSeed {
  tenantId: string;
  agentId: string;
  connectionId: string;
  teamId: string;
  created: boolean;
}

/**
 * First run only: a demo tenant with an employee and a Slack connection, so a fresh install
 * has something to talk to. Runs as the database owner (seeding is deployment-level).
 */
export async function seedDemo(
  databaseUrl: string,
  ring: MasterKeyring,
  opts: { teamId: string; botToken: string | undefined },
): Promise<DemoSeed> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const existing = await client.query<{ tenant_id: string; agent_id: string; id: string; external_id: string }>(
      `SELECT c.tenant_id, c.agent_id, c.id, c.external_id FROM channel_connections c
        JOIN tenants t ON t.id = c.tenant_id WHERE t.slug = 'demo' AND c.kind = 'slack' LIMIT 1`,
    );
    const row = existing.rows[0];
    if (row) return { tenantId: row.tenant_id, agentId: row.agent_id, connectionId: row.id, teamId: row.external_id, created: false };

    const tenantId = randomUUID();
    const agentId = randomUUID();
    const connectionId = randomUUID();
    // Without a real token the reply is still written and shown by `npm run say`; posting to
    // Slack then fails and is recorded on the message.
    const token = opts.botToken ?? 'xoxb-demo-not-connected';
    await client.query('BEGIN');
    await client.query(`INSERT INTO tenants (id, slug, name) VALUES ($1, 'demo', 'Demo Bakery')`, [tenantId]);
    await client.query(
      `INSERT INTO agents (id, tenant_id, name, role, persona, job_description, business_functions, updated_at)
       VALUES ($1, $2, 'Ava', 'customer service assistant', 'Warm, brief and precise.',
               'Answers customer questions about opening hours, orders and deliveries for Demo Bakery.',
               ARRAY['opening hours', 'orders', 'deliveries'], now())`,
      [agentId, tenantId],
    );
    await client.query(
      `INSERT INTO channel_connections (id, tenant_id, kind, external_id, display_name, agent_id, bot_user_id,
                                        bot_token_enc, bot_token_hint, updated_at)
       VALUES ($1, $2, 'slack', $3, 'Demo workspace', $4, 'U0BOTUSER', $5, $6, now())`,
      [
        connectionId,
        tenantId,
        opts.teamId,
        agentId,
        encryptSecret(ring, token, secretContext('channel_connections', 'bot_token', connectionId)),
        secretHint(token),
      ],
    );
    await client.query('COMMIT');
    return { tenantId, agentId, connectionId, teamId: opts.teamId, created: true };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    await client.end();
  }
}

export async function hasPlatformOperator(databaseUrl: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT 1 FROM operators WHERE is_platform_admin LIMIT 1');
    return rows.length > 0;
  } finally {
    await client.end();
  }
}
