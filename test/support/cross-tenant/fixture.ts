import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { hash } from '@node-rs/argon2';
import { encryptSecret, keyringFrom, secretContext, secretHint } from '@konstruct/core';

/** Ids of one tenant's graph, by entity; lists where a tenant has several of a kind. */
export interface TenantGraph {
  tenantId: string;
  agentId: string;
  toolId: string;
  ruleId: string;
  connectionId: string;
  rateLimitIds: string[];
  conversationId: string;
  messageIds: string[];
  handoffId: string;
  memoryId: string;
  budgetIds: string[];
  usageRecordId: string;
  providerKeyId: string;
  apiKeyId: string;
  subscriptionId: string;
  membershipIds: string[];
  /** The admin first, then a viewer. */
  operatorIds: string[];
  auditEventIds: string[];
  /** Channel-side ids: Slack team, end user. Strings, but as good as ids to an attacker. */
  teamId: string;
  endUserId: string;
  admin: { email: string; password: string };
}

export interface SecretTenant extends TenantGraph {
  /** Random token contained in every name and text of the tenant (case-insensitive). */
  token: string;
  /** Every uuid of the tenant's rows. */
  uuids: string[];
  /** Everything that must never appear in an answer to another tenant. */
  forbidden: string[];
}

/** The memory subgraph's built-in embedder: search compares only rows of the model it embeds with. */
const SEARCHABLE_MODEL = 'konstruct-hash-384';

const vector = (seed: number) => `[${Array.from({ length: 384 }, (_, i) => (i === seed % 384 ? 1 : 0.01)).join(',')}]`;

/**
 * A tenant with one of everything, inserted as the database owner. With `secret`, every
 * name and text carries a distinctive token (`B-SECRET-<hex>`), so any of it in an answer
 * is found by a substring search.
 */
export async function seedTenantGraph(owner: pg.Client, opts: { masterKey: string; name: string; secret: boolean }): Promise<SecretTenant> {
  const hex = randomBytes(8).toString('hex');
  const token = opts.secret ? `b-secret-${hex}` : `a-${hex}`;
  const mark = (what: string) => (opts.secret ? `B-SECRET-${hex} ${what}` : `${opts.name} ${what}`);
  const keyring = keyringFrom(opts.masterKey);
  const id = () => randomUUID();
  const g: TenantGraph = {
    tenantId: id(),
    agentId: id(),
    toolId: id(),
    ruleId: id(),
    connectionId: id(),
    rateLimitIds: [id(), id()],
    conversationId: id(),
    messageIds: [id(), id()],
    handoffId: id(),
    memoryId: id(),
    budgetIds: [id(), id()],
    usageRecordId: id(),
    providerKeyId: id(),
    apiKeyId: id(),
    subscriptionId: id(),
    membershipIds: [id(), id()],
    operatorIds: [id(), id()],
    auditEventIds: [id(), id()],
    teamId: `T${token.replace(/-/g, '').toUpperCase()}`,
    endUserId: `U${token.replace(/-/g, '').toUpperCase()}`,
    admin: { email: `${token}-admin@example.test`, password: 'a long and proper password' },
  };
  const q = (sql: string, params: unknown[]) => owner.query(sql, params);

  await q('INSERT INTO tenants (id, slug, name) VALUES ($1, $2, $3)', [g.tenantId, token, mark('tenant')]);
  await q(`INSERT INTO operators (id, email, password_hash, display_name) VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)`, [
    g.operatorIds[0],
    g.admin.email,
    await hash(g.admin.password),
    mark('admin'),
    g.operatorIds[1],
    `${token}-viewer@example.test`,
    await hash(randomBytes(16).toString('hex')),
    mark('viewer'),
  ]);
  await q(`INSERT INTO memberships (id, tenant_id, operator_id, role, accepted_at) VALUES ($1, $2, $3, 'admin', now()), ($4, $2, $5, 'viewer', now())`, [
    g.membershipIds[0],
    g.tenantId,
    g.operatorIds[0],
    g.membershipIds[1],
    g.operatorIds[1],
  ]);
  await q(
    `INSERT INTO agents (id, tenant_id, name, role, persona, job_description, statement_of_work, system_prompt, business_functions, model_preferences, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now())`,
    [
      g.agentId,
      g.tenantId,
      mark('agent'),
      mark('role'),
      mark('persona'),
      mark('job'),
      mark('sow'),
      mark('prompt'),
      [mark('function')],
      JSON.stringify({ group: 'default', models: [`openai:${token}`] }),
    ],
  );
  await q(
    `INSERT INTO tool_definitions (id, tenant_id, name, description, kind, parameters, url, hmac_secret_enc, updated_at)
     VALUES ($1, $2, $3, $4, 'http', $5, $6, $7, now())`,
    [
      g.toolId,
      g.tenantId,
      `t_${token.replace(/-/g, '_')}`,
      mark('tool'),
      JSON.stringify({ type: 'object', description: mark('params') }),
      `https://${token}.example.test/hook`,
      encryptSecret(keyring, `${token}-hmac-secret`, secretContext('tool_definitions', 'hmac_secret', g.toolId)),
    ],
  );
  await q(`INSERT INTO agent_tools (tenant_id, agent_id, tool_id) VALUES ($1, $2, $3)`, [g.tenantId, g.agentId, g.toolId]);
  await q(
    `INSERT INTO channel_connections (id, tenant_id, kind, external_id, display_name, agent_id, bot_user_id, bot_token_enc, bot_token_hint, settings, updated_at)
     VALUES ($1, $2, 'slack', $3, $4, $5, $6, $7, $8, $9, now())`,
    [
      g.connectionId,
      g.tenantId,
      g.teamId,
      mark('workspace'),
      g.agentId,
      `B${token.replace(/-/g, '').toUpperCase()}`,
      encryptSecret(keyring, `xoxb-${token}`, secretContext('channel_connections', 'bot_token', g.connectionId)),
      secretHint(`xoxb-${token}`),
      JSON.stringify({ escalationChannel: mark('channel') }),
    ],
  );
  await q(
    `INSERT INTO escalation_rules (id, tenant_id, agent_id, trigger, pattern, target) VALUES ($1, $2, $3, 'keyword', $4, $5)`,
    [g.ruleId, g.tenantId, g.agentId, mark('keyword'), JSON.stringify({ kind: 'slack', connectionId: g.connectionId, channel: mark('channel') })],
  );
  await q(
    `INSERT INTO rate_limit_settings (id, tenant_id, connection_id, per_minute, burst, over_limit_action, busy_message, updated_at)
     VALUES ($1, $2, NULL, 61, 7, 'busy_message', $3, now()), ($4, $2, $5, 62, 8, 'busy_message', $6, now())`,
    [g.rateLimitIds[0], g.tenantId, mark('busy'), g.rateLimitIds[1], g.connectionId, mark('busy conn')],
  );
  await q(
    `INSERT INTO conversations (id, tenant_id, agent_id, connection_id, channel_kind, external_ref, end_user_external_id, last_inbound_at, last_message_at)
     VALUES ($1, $2, $3, $4, 'slack', $5, $6, now(), now())`,
    [g.conversationId, g.tenantId, g.agentId, g.connectionId, `slack:${g.teamId}:C1:${token}`, g.endUserId],
  );
  await q(
    `INSERT INTO messages (id, tenant_id, conversation_id, direction, author, channel_kind, external_id, sender_external_id, text)
     VALUES ($1, $2, $3, 'inbound', 'end_user', 'slack', $4, $5, $6)`,
    [g.messageIds[0], g.tenantId, g.conversationId, `ev-${token}`, g.endUserId, mark('question')],
  );
  await q(
    `INSERT INTO messages (id, tenant_id, conversation_id, direction, author, channel_kind, in_reply_to_id, text, delivery_state, provider_message_id, sent_at)
     VALUES ($1, $2, $3, 'outbound', 'agent', 'slack', $4, $5, 'sent', $6, now())`,
    [g.messageIds[1], g.tenantId, g.conversationId, g.messageIds[0], mark('answer'), `ts-${token}`],
  );
  await q(
    `INSERT INTO handoffs (id, tenant_id, conversation_id, agent_id, rule_id, reason, summary, human_thread)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [g.handoffId, g.tenantId, g.conversationId, g.agentId, g.ruleId, mark('reason'), mark('summary'), JSON.stringify({ channel: mark('humans') })],
  );
  await q(
    `INSERT INTO memory_items (id, tenant_id, agent_id, conversation_id, end_user_external_id, text, embedding, embedding_model, metadata)
     VALUES ($1, $2, $3, $4, $5, $6, $7::vector, $8, $9)`,
    [g.memoryId, g.tenantId, g.agentId, g.conversationId, g.endUserId, mark('memory'), vector(opts.secret ? 1 : 2), SEARCHABLE_MODEL, JSON.stringify({ note: mark('meta') })],
  );
  await q(
    `INSERT INTO budgets (id, tenant_id, agent_id, period, unit, "limit", updated_at)
     VALUES ($1, $2, $3, 'month', 'usd_micros', 987654321, now()), ($4, $2, NULL, 'day', 'tokens', 123456789, now())`,
    [g.budgetIds[0], g.tenantId, g.agentId, g.budgetIds[1]],
  );
  await q(
    `INSERT INTO budget_windows (budget_id, tenant_id, window_start, spent, reserved)
     VALUES ($1, $2, date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', 4242, 17),
            ($3, $2, date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', 4343, 18)`,
    [g.budgetIds[0], g.tenantId, g.budgetIds[1]],
  );
  await q(
    `INSERT INTO usage_records (id, tenant_id, agent_id, conversation_id, provider, model, input_tokens, output_tokens, cost_usd_micros, latency_ms)
     VALUES ($1, $2, $3, $4, 'openai', $5, 1111, 2222, 3333, 44)`,
    [g.usageRecordId, g.tenantId, g.agentId, g.conversationId, `model-${token}`],
  );
  await q(
    `INSERT INTO provider_keys (id, tenant_id, provider, label, key_enc, key_hint, base_url) VALUES ($1, $2, 'openai', $3, $4, $5, $6)`,
    [
      g.providerKeyId,
      g.tenantId,
      mark('provider key'),
      encryptSecret(keyring, `sk-${token}`, secretContext('provider_keys', 'key', g.providerKeyId)),
      secretHint(`sk-${token}`),
      `https://${token}.example.test/v1`,
    ],
  );
  await q(
    `INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, scopes, created_by) VALUES ($1, $2, $3, $4, $5, ARRAY['read','write'], $6)`,
    [g.apiKeyId, g.tenantId, mark('api key'), token.replace(/-/g, ''), `hash-${token}`, g.operatorIds[0]],
  );
  // Inactive, so it stays out of the public plan list other tests read.
  const planId = id();
  await q(
    `INSERT INTO plans (id, code, name, monthly_price_cents, included_tokens, active) VALUES ($1, $2, 'Cross-tenant test plan', 100, 1000, false)`,
    [planId, `xt-${hex}`],
  );
  await q(
    `INSERT INTO subscriptions (id, tenant_id, plan_id, status, stripe_customer_id, stripe_subscription_id, current_period_end, updated_at)
     VALUES ($1, $2, $3, 'active', $4, $5, now() + interval '20 days', now())`,
    [g.subscriptionId, g.tenantId, planId, `cus_${token}`, `sub_${token}`],
  );
  await q(
    `INSERT INTO audit_events (id, tenant_id, actor_kind, actor_id, action, subject_type, subject_id, data)
     VALUES ($1, $2, 'operator', $3, $4, 'Agent', $5, $6)`,
    [g.auditEventIds[0], g.tenantId, g.operatorIds[0], `agent.${token}`, g.agentId, JSON.stringify({ note: mark('audit') })],
  );
  await q(
    `INSERT INTO audit_events (id, tenant_id, actor_kind, actor_id, action, subject_type, subject_id, data)
     VALUES ($1, $2, 'system', $3, $4, 'Conversation', $5, $6)`,
    [g.auditEventIds[1], g.tenantId, `system-${token}`, `conversation.${token}`, g.conversationId, JSON.stringify({ note: mark('audit 2') })],
  );
  const hashes = (await q('SELECT hash FROM audit_events WHERE tenant_id = $1', [g.tenantId])).rows.map((r) => String(r.hash));

  const uuids = [
    g.tenantId,
    g.agentId,
    g.toolId,
    g.ruleId,
    g.connectionId,
    ...g.rateLimitIds,
    g.conversationId,
    ...g.messageIds,
    g.handoffId,
    g.memoryId,
    ...g.budgetIds,
    g.usageRecordId,
    g.providerKeyId,
    g.apiKeyId,
    g.subscriptionId,
    ...g.membershipIds,
    ...g.operatorIds,
    ...g.auditEventIds,
  ];
  return { ...g, token, uuids, forbidden: [token, token.replace(/-/g, ''), token.replace(/-/g, '_'), ...uuids, ...hashes] };
}

/** Every base table with a tenant_id column. */
export async function tenantTables(owner: pg.Client): Promise<string[]> {
  const r = await owner.query(
    `SELECT c.table_name FROM information_schema.columns c
     JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
     WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE'
     ORDER BY 1`,
  );
  return r.rows.map((row) => String(row.table_name));
}

/** A digest of everything a tenant owns, per table: the tenant row, its operators, every tenant-owned table. */
export async function snapshot(owner: pg.Client, g: TenantGraph): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const digest = async (label: string, sql: string, params: unknown[]) => {
    const r = await owner.query(sql, params);
    out[label] = `${r.rows[0].n} rows, md5 ${r.rows[0].d ?? '-'}`;
  };
  await digest('tenants', `SELECT count(*)::int AS n, md5(string_agg(t::text, ',' ORDER BY t::text)) AS d FROM tenants t WHERE id = $1`, [g.tenantId]);
  // Operators are global, but another tenant must not be able to change the tenant's people.
  await digest(
    'operators',
    `SELECT count(*)::int AS n, md5(string_agg(t::text, ',' ORDER BY t::text)) AS d FROM operators t WHERE id = ANY($1::uuid[])`,
    [g.operatorIds],
  );
  for (const table of await tenantTables(owner)) {
    await digest(table, `SELECT count(*)::int AS n, md5(string_agg(t::text, ',' ORDER BY t::text)) AS d FROM "${table}" t WHERE tenant_id = $1`, [g.tenantId]);
  }
  return out;
}

/** Rows of `tenantId` (in any tenant-owned table, or the tenant row) whose text contains one of `needles`. */
export async function rowsMentioning(owner: pg.Client, tenantId: string, needles: string[]): Promise<{ table: string; row: string; found: string }[]> {
  const lowered = needles.map((n) => n.toLowerCase());
  const hits: { table: string; row: string; found: string }[] = [];
  const scan = (table: string, rows: { t: string }[]) => {
    for (const { t } of rows) {
      const text = t.toLowerCase();
      const found = lowered.find((n) => text.includes(n));
      if (found) hits.push({ table, row: t.length > 400 ? `${t.slice(0, 400)}…` : t, found });
    }
  };
  scan('tenants', (await owner.query(`SELECT t::text AS t FROM tenants t WHERE id = $1`, [tenantId])).rows);
  for (const table of await tenantTables(owner)) {
    scan(table, (await owner.query(`SELECT t::text AS t FROM "${table}" t WHERE tenant_id = $1`, [tenantId])).rows);
  }
  return hits;
}
