import { randomUUID } from 'node:crypto';
import { setImmediate as tick } from 'node:timers/promises';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDb, tenantScope, type Db, type TenantScope, type TenantTx } from '@konstruct/db';
import { appDb, createTenant, ownerClient } from '../../../test/support/db.ts';

/**
 * Row-level security is the tenant boundary: these tests check it in the catalog and then
 * try to cross it, table by table, as the application role.
 *
 * The list of tenant tables comes from the catalog (every `public` table with a `tenant_id`
 * column), so a new table is covered automatically — and fails here until it gets a fixture
 * builder in FIXTURES below.
 */

const APP = 'konstruct_app';
const ROUTER = 'konstruct_router';
const PLATFORM = 'konstruct_platform';
/** Login and platform administration: no tenant data beyond the tenant list and memberships. */
const PLATFORM_GRANTS: Record<string, string[]> = {
  memberships: ['DELETE', 'INSERT', 'SELECT', 'UPDATE'],
  operators: ['INSERT', 'SELECT', 'UPDATE'],
  tenants: ['DELETE', 'INSERT', 'SELECT', 'UPDATE'],
};
const APPEND_ONLY = new Set(['audit_events']);
/** Global tables the application role may read (and `tenants`, its own row only). */
const APP_GLOBAL_GRANTS: Record<string, string[]> = {
  tenants: ['SELECT', 'UPDATE'],
  plans: ['SELECT'],
};
const ROUTER_GRANTS: Record<string, string[]> = {
  api_keys: ['SELECT'],
  channel_connections: ['SELECT'],
};

// ───────────────────────────── catalog ─────────────────────────────

interface Catalog {
  tenantTables: string[];
  /** table → column → `format_type` (used as the cast of each parameter). */
  columnTypes: Map<string, Map<string, string>>;
  primaryKeys: Map<string, string[]>;
}

async function readCatalog(owner: pg.Client): Promise<Catalog> {
  const tenantTables = (await owner.query<{ t: string }>(
    `SELECT c.relname AS t FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
      ORDER BY c.relname`,
  )).rows.map((r) => r.t);

  const columnTypes = new Map<string, Map<string, string>>();
  for (const r of (await owner.query<{ t: string; col: string; type: string }>(
    `SELECT c.relname AS t, a.attname AS col, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped`,
  )).rows) {
    if (!columnTypes.has(r.t)) columnTypes.set(r.t, new Map());
    columnTypes.get(r.t)!.set(r.col, r.type);
  }

  const primaryKeys = new Map<string, string[]>();
  for (const r of (await owner.query<{ t: string; cols: string[] }>(
    `SELECT c.relname AS t, array_agg(a.attname::text ORDER BY k.ord) AS cols
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
      WHERE n.nspname = 'public' AND i.indisprimary
      GROUP BY c.relname`,
  )).rows) primaryKeys.set(r.t, r.cols);

  return { tenantTables, columnTypes, primaryKeys };
}

// Discovered at collection time so that every tenant table gets its own test.
const catalog = await (async () => {
  const owner = await ownerClient();
  try {
    return await readCatalog(owner);
  } finally {
    await owner.end();
  }
})();

// ───────────────────────────── SQL helpers ─────────────────────────────

/** A row as Postgres text values; every parameter is cast to its column's type. */
type Row = Record<string, string | null>;

const q = (ident: string) => `"${ident.replaceAll('"', '""')}"`;

function colType(table: string, col: string): string {
  const t = catalog.columnTypes.get(table)?.get(col);
  if (!t) throw new Error(`fixture for ${table} sets unknown column ${col}`);
  return t;
}

function insertSql(table: string, row: Row): { sql: string; params: (string | null)[] } {
  const cols = Object.keys(row);
  return {
    sql: `INSERT INTO ${q(table)} (${cols.map(q).join(', ')}) VALUES (${cols.map((c, i) => `$${i + 1}::${colType(table, c)}`).join(', ')})`,
    params: cols.map((c) => row[c]!),
  };
}

/** `WHERE` on the primary key of `row`, parameters starting at $`from`. */
function keyOf(table: string, row: Row, from = 1): { where: string; params: (string | null)[] } {
  const pk = catalog.primaryKeys.get(table);
  if (!pk?.length) throw new Error(`${table} has no primary key`);
  for (const c of pk) if (row[c] == null) throw new Error(`fixture for ${table} must set primary-key column ${c}`);
  return {
    where: pk.map((c, i) => `${q(c)} = $${from + i}::${colType(table, c)}`).join(' AND '),
    params: pk.map((c) => row[c]!),
  };
}

async function ownerInsert(owner: pg.Client, table: string, row: Row): Promise<Row> {
  const { sql, params } = insertSql(table, row);
  await owner.query(sql, params);
  return row;
}

/** SQLSTATE and message of a failed statement, whether it came from pg or through Prisma. */
function pgErrorOf(e: unknown): { code: string; message: string } {
  const err = e as { code?: string; message?: string; meta?: { driverAdapterError?: { cause?: { originalCode?: string; originalMessage?: string } } } };
  const cause = err.meta?.driverAdapterError?.cause;
  if (cause?.originalCode) return { code: cause.originalCode, message: cause.originalMessage ?? '' };
  return { code: err.code ?? 'none', message: err.message ?? String(e) };
}

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return pgErrorOf(e);
  }
  throw new Error('expected the statement to be refused, but it succeeded');
}

const rls = (table: string) => ({ code: '42501', message: `new row violates row-level security policy for table "${table}"` });
const denied = (table: string) => ({ code: '42501', message: `permission denied for table ${table}` });

// ───────────────────────────── fixtures ─────────────────────────────

/** Rows every tenant gets, so a fixture row can reference them. */
interface Graph {
  tenantId: string;
  agentId: string;
  connectionId: string;
  conversationId: string;
  messageId: string;
  toolId: string;
  budgetId: string;
  planId: string;
}

const rand = () => randomUUID().slice(0, 8);
const vector384 = () => `[${Array.from({ length: 384 }, (_, i) => ((i % 7) / 10).toFixed(1)).join(',')}]`;

async function planId(owner: pg.Client): Promise<string> {
  const id = randomUUID();
  await ownerInsert(owner, 'plans', { id, code: `test-${rand()}`, name: 'Test', monthly_price_cents: '0', included_tokens: '0' });
  return id;
}

async function buildGraph(owner: pg.Client, tenantId: string, plan: string): Promise<Graph> {
  const g: Graph = {
    tenantId, planId: plan,
    agentId: randomUUID(), connectionId: randomUUID(), conversationId: randomUUID(),
    messageId: randomUUID(), toolId: randomUUID(), budgetId: randomUUID(),
  };
  await ownerInsert(owner, 'agents', { id: g.agentId, tenant_id: tenantId, name: 'Graph agent' });
  await ownerInsert(owner, 'channel_connections', { id: g.connectionId, tenant_id: tenantId, kind: 'slack', external_id: `T${rand()}`, agent_id: g.agentId });
  await ownerInsert(owner, 'conversations', {
    id: g.conversationId, tenant_id: tenantId, agent_id: g.agentId, connection_id: g.connectionId,
    channel_kind: 'slack', external_ref: `slack:${rand()}`, end_user_external_id: 'U1',
  });
  await ownerInsert(owner, 'messages', {
    id: g.messageId, tenant_id: tenantId, conversation_id: g.conversationId, direction: 'inbound',
    author: 'end_user', channel_kind: 'slack', external_id: rand(), text: 'hello',
  });
  await ownerInsert(owner, 'tool_definitions', { id: g.toolId, tenant_id: tenantId, name: `tool-${rand()}`, description: 'd', kind: 'http' });
  await ownerInsert(owner, 'budgets', { id: g.budgetId, tenant_id: tenantId, period: 'month', unit: 'tokens', limit: '1000000' });
  return g;
}

type Builder = (owner: pg.Client, g: Graph) => Promise<Row>;

/**
 * One builder per tenant table: returns a fresh valid row (new ids, unique values) for the
 * graph's tenant. It may create global or same-tenant dependencies as the owner.
 */
const FIXTURES: Record<string, Builder> = {
  memberships: async (owner, g) => {
    const operator = randomUUID();
    await ownerInsert(owner, 'operators', { id: operator, email: `${rand()}@example.test`, password_hash: 'x', display_name: 'Op' });
    return { id: randomUUID(), tenant_id: g.tenantId, operator_id: operator, role: 'viewer' };
  },
  api_keys: async (_o, g) => ({ id: randomUUID(), tenant_id: g.tenantId, name: 'key', prefix: `kk_${rand()}`, key_hash: 'h', scopes: '{read}' }),
  channel_connections: async (_o, g) => ({ id: randomUUID(), tenant_id: g.tenantId, kind: 'whatsapp', external_id: `P${rand()}`, settings: '{"a":1}' }),
  // One tenant-wide limit per tenant is allowed, so each row gets a channel connection of its own.
  rate_limit_settings: async (owner, g) => {
    const connection = randomUUID();
    await ownerInsert(owner, 'channel_connections', { id: connection, tenant_id: g.tenantId, kind: 'slack', external_id: `T${rand()}` });
    return { id: randomUUID(), tenant_id: g.tenantId, connection_id: connection, per_minute: '60', burst: '10' };
  },
  agents: async (_o, g) => ({ id: randomUUID(), tenant_id: g.tenantId, name: 'Ava', business_functions: '{support}' }),
  tool_definitions: async (_o, g) => ({ id: randomUUID(), tenant_id: g.tenantId, name: `t-${rand()}`, description: 'd', kind: 'builtin' }),
  agent_tools: async (owner, g) => {
    const tool = randomUUID();
    await ownerInsert(owner, 'tool_definitions', { id: tool, tenant_id: g.tenantId, name: `t-${rand()}`, description: 'd', kind: 'http' });
    return { tenant_id: g.tenantId, agent_id: g.agentId, tool_id: tool };
  },
  escalation_rules: async (_o, g) => ({ id: randomUUID(), tenant_id: g.tenantId, agent_id: g.agentId, trigger: 'keyword', pattern: 'human' }),
  conversations: async (_o, g) => ({
    id: randomUUID(), tenant_id: g.tenantId, agent_id: g.agentId, connection_id: g.connectionId,
    channel_kind: 'slack', external_ref: `slack:${rand()}`, end_user_external_id: 'U2',
  }),
  messages: async (_o, g) => ({
    id: randomUUID(), tenant_id: g.tenantId, conversation_id: g.conversationId, direction: 'outbound',
    author: 'agent', channel_kind: 'slack', text: 'hi', in_reply_to_id: null,
  }),
  handoffs: async (_o, g) => ({ id: randomUUID(), tenant_id: g.tenantId, conversation_id: g.conversationId, agent_id: g.agentId, reason: 'asked' }),
  memory_items: async (_o, g) => ({
    id: randomUUID(), tenant_id: g.tenantId, agent_id: g.agentId, conversation_id: g.conversationId,
    text: 'likes tea', embedding: vector384(), embedding_model: 'test-384',
  }),
  budgets: async (owner, g) => {
    // Unique per (tenant, agent, period, unit): a new agent each time.
    const agent = randomUUID();
    await ownerInsert(owner, 'agents', { id: agent, tenant_id: g.tenantId, name: 'Budgeted' });
    return { id: randomUUID(), tenant_id: g.tenantId, agent_id: agent, period: 'day', unit: 'usd_micros', limit: '5000000' };
  },
  budget_windows: async (_o, g) => ({
    budget_id: g.budgetId, tenant_id: g.tenantId,
    window_start: new Date(Date.UTC(2026, 0, 1) + Math.floor(Math.random() * 1e9) * 1000).toISOString(),
  }),
  // A hold references its window, so each row gets a window of its own.
  budget_reservations: async (owner, g) => {
    const windowStart = new Date(Date.UTC(2026, 0, 1) + Math.floor(Math.random() * 1e9) * 1000).toISOString();
    await ownerInsert(owner, 'budget_windows', { budget_id: g.budgetId, tenant_id: g.tenantId, window_start: windowStart });
    return {
      id: randomUUID(), budget_id: g.budgetId, tenant_id: g.tenantId, window_start: windowStart,
      unit: 'tokens', amount: '100', expires_at: new Date(Date.now() + 60_000).toISOString(),
    };
  },
  usage_records: async (_o, g) => ({
    id: randomUUID(), tenant_id: g.tenantId, agent_id: g.agentId, provider: 'openai', model: 'gpt-4o-mini',
    input_tokens: '10', output_tokens: '5', cost_usd_micros: '42', latency_ms: '100',
  }),
  provider_keys: async (_o, g) => ({ id: randomUUID(), tenant_id: g.tenantId, provider: 'anthropic', key_enc: 'enc', key_hint: 'abcd' }),
  subscriptions: async (_o, g) => ({ id: randomUUID(), tenant_id: g.tenantId, plan_id: g.planId, status: 'active' }),
  audit_events: async (_o, g) => ({ id: randomUUID(), tenant_id: g.tenantId, actor_kind: 'system', action: 'test.isolation', data: '{"n":1}' }),
};

// ───────────────────────────── tests ─────────────────────────────

let owner: pg.Client;
let db: Db;
let plan: string;

beforeAll(async () => {
  owner = await ownerClient();
  db = appDb(8);
  plan = await planId(owner);
});
afterAll(async () => {
  await db?.close();
  await owner?.end();
});

describe('catalog: row-level security and roles', () => {
  it('discovers the tenant tables from the catalog', () => {
    // A broken discovery query would make every per-table test below vanish silently.
    expect(catalog.tenantTables.length).toBeGreaterThanOrEqual(18);
    expect(catalog.tenantTables).toEqual(expect.arrayContaining(['agents', 'messages', 'memory_items', 'audit_events', 'api_keys']));
  });

  it('every table with tenant_id (and tenants itself) has RLS enabled and forced', async () => {
    const { rows } = await owner.query<{ t: string; enabled: boolean; forced: boolean }>(
      `SELECT c.relname AS t, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
          AND (c.relname = 'tenants' OR EXISTS (
            SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped))
        ORDER BY 1`,
    );
    expect(rows.length).toBe(catalog.tenantTables.length + 1);
    const offenders = rows.filter((r) => !r.enabled || !r.forced)
      .map((r) => `${r.t}: ${r.enabled ? '' : 'RLS not enabled '}${r.forced ? '' : 'RLS not forced'}`.trim());
    expect(offenders, `tables without enabled+forced RLS:\n${offenders.join('\n')}`).toEqual([]);
  });

  it('every policy that applies to the app role confines rows to konstruct_tenant_id()', async () => {
    const { rows } = await owner.query<{ t: string; policy: string; cmd: string; permissive: string; qual: string | null; check: string | null }>(
      `SELECT tablename AS t, policyname AS policy, cmd, permissive, qual, with_check AS check
         FROM pg_policies
        WHERE schemaname = 'public' AND ($1 = ANY(roles) OR 'public' = ANY(roles))
        ORDER BY 1, 2`,
      [APP],
    );
    const byTable = new Map<string, typeof rows>();
    for (const r of rows) byTable.set(r.t, [...(byTable.get(r.t) ?? []), r]);
    const problems: string[] = [];
    for (const t of catalog.tenantTables) {
      const ps = byTable.get(t) ?? [];
      if (ps.length === 0) problems.push(`${t}: no policy for ${APP} (all rows hidden — or RLS missing)`);
      for (const p of ps) {
        if (p.qual !== '(tenant_id = konstruct_tenant_id())') problems.push(`${t}.${p.policy}: USING ${p.qual}`);
        if (p.cmd !== 'SELECT' && p.check !== '(tenant_id = konstruct_tenant_id())') problems.push(`${t}.${p.policy}: WITH CHECK ${p.check}`);
      }
    }
    for (const p of byTable.get('tenants') ?? []) {
      if (p.qual !== '(id = konstruct_tenant_id())') problems.push(`tenants.${p.policy}: USING ${p.qual}`);
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it.each([APP, ROUTER, PLATFORM])('%s is not a superuser, cannot bypass RLS, owns nothing and inherits no role', async (role) => {
    const { rows } = await owner.query(
      `SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolcanlogin FROM pg_roles WHERE rolname = $1`, [role]);
    expect(rows).toEqual([{ rolsuper: false, rolbypassrls: false, rolcreaterole: false, rolcreatedb: false, rolcanlogin: false }]);

    const owned = await owner.query(
      `SELECT c.relname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = $1
        UNION ALL SELECT tablename FROM pg_tables WHERE tableowner = $1`, [role]);
    expect(owned.rows).toEqual([]);

    const inherited = await owner.query(
      `SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = $1`, [role]);
    expect(inherited.rows).toEqual([]);
  });

  it('table privileges of the app, router and platform roles are exactly the intended ones', async () => {
    const privs = async (role: string) => {
      const { rows } = await owner.query<{ t: string; privs: string[] }>(
        `SELECT c.relname AS t, array_agg(p ORDER BY p) AS privs
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           CROSS JOIN unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES','TRIGGER']) AS p
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm') AND has_table_privilege($1, c.oid, p)
          GROUP BY c.relname ORDER BY 1`,
        [role],
      );
      return Object.fromEntries(rows.map((r) => [r.t, r.privs]));
    };
    const expectedApp: Record<string, string[]> = { ...APP_GLOBAL_GRANTS };
    for (const t of catalog.tenantTables) {
      expectedApp[t] = APPEND_ONLY.has(t) ? ['INSERT', 'SELECT'] : ['DELETE', 'INSERT', 'SELECT', 'UPDATE'];
    }
    for (const k of Object.keys(expectedApp)) expectedApp[k] = [...expectedApp[k]!].sort();
    expect(await privs(APP)).toEqual(expectedApp);
    expect(await privs(ROUTER)).toEqual(ROUTER_GRANTS);
    expect(await privs(PLATFORM)).toEqual(PLATFORM_GRANTS);
  });

  it('every tenant table has a fixture builder, and every builder is for a tenant table', () => {
    const missing = catalog.tenantTables.filter((t) => !FIXTURES[t]);
    const stale = Object.keys(FIXTURES).filter((t) => !catalog.tenantTables.includes(t));
    expect({ missing, stale }, `add a builder to FIXTURES in ${import.meta.url}`).toEqual({ missing: [], stale: [] });
  });
});

describe.each(catalog.tenantTables)('tenant table %s', (table) => {
  it('tenant A cannot read, change, delete or forge tenant B rows, but can work with its own', async () => {
    const build = FIXTURES[table];
    if (!build) throw new Error(`no fixture builder for tenant table ${table}: add one to FIXTURES`);

    const A = await createTenant(owner, 'A');
    const B = await createTenant(owner, 'B');
    const gA = await buildGraph(owner, A.tenantId, plan);
    const gB = await buildGraph(owner, B.tenantId, plan);
    const rowA = await ownerInsert(owner, table, await build(owner, gA));
    const rowB = await ownerInsert(owner, table, await build(owner, gB));
    const rowANew = await build(owner, gA); // A inserts this itself
    const rowBForged = await build(owner, gB); // A tries to insert this for B
    const keyA = keyOf(table, rowA);
    const keyB = keyOf(table, rowB);
    const appendOnly = APPEND_ONLY.has(table);

    // Control: the rows exist (the owner bypasses RLS).
    const ownerView = await owner.query(`SELECT tenant_id::text AS t FROM ${q(table)} WHERE ${keyB.where}`, keyB.params);
    expect(ownerView.rows).toEqual([{ t: B.tenantId }]);

    const seen = await db.withTenant(A, async (tx) => {
      const role = await tx.$queryRawUnsafe<{ u: string; t: string }[]>('SELECT current_user::text AS u, konstruct_tenant_id()::text AS t');
      const bByKey = await tx.$queryRawUnsafe<unknown[]>(`SELECT * FROM ${q(table)} WHERE ${keyB.where}`, ...keyB.params);
      const bByTenant = await tx.$queryRawUnsafe<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM ${q(table)} WHERE tenant_id = $1::uuid`, B.tenantId);
      const aByKey = await tx.$queryRawUnsafe<{ t: string }[]>(`SELECT tenant_id::text AS t FROM ${q(table)} WHERE ${keyA.where}`, ...keyA.params);
      const visibleTenants = await tx.$queryRawUnsafe<{ t: string }[]>(`SELECT DISTINCT tenant_id::text AS t FROM ${q(table)}`);
      const ins = insertSql(table, rowANew);
      const inserted = await tx.$executeRawUnsafe(ins.sql, ...ins.params);
      let updatedB = -1, deletedB = -1, updatedA = -1, deletedA = -1;
      if (!appendOnly) {
        updatedB = await tx.$executeRawUnsafe(`UPDATE ${q(table)} SET tenant_id = tenant_id WHERE ${keyB.where}`, ...keyB.params);
        deletedB = await tx.$executeRawUnsafe(`DELETE FROM ${q(table)} WHERE ${keyB.where}`, ...keyB.params);
        updatedA = await tx.$executeRawUnsafe(`UPDATE ${q(table)} SET tenant_id = tenant_id WHERE ${keyA.where}`, ...keyA.params);
        deletedA = await tx.$executeRawUnsafe(`DELETE FROM ${q(table)} WHERE ${keyA.where}`, ...keyA.params);
      }
      return { role, bByKey, bByTenant, aByKey, visibleTenants, inserted, updatedB, deletedB, updatedA, deletedA };
    });

    expect(seen.role).toEqual([{ u: APP, t: A.tenantId }]);
    expect(seen.bByKey).toEqual([]);
    expect(seen.bByTenant).toEqual([{ n: 0 }]);
    expect(seen.aByKey).toEqual([{ t: A.tenantId }]); // RLS does not simply hide everything
    expect(seen.visibleTenants).toEqual([{ t: A.tenantId }]);
    expect(seen.inserted).toBe(1);
    if (!appendOnly) {
      expect(seen.updatedB).toBe(0);
      expect(seen.deletedB).toBe(0);
      expect(seen.updatedA).toBe(1);
      expect(seen.deletedA).toBe(1);
    }

    // Inserting a row for another tenant: refused by WITH CHECK.
    const forged = insertSql(table, rowBForged);
    expect(await failure(db.withTenant(A, (tx) => tx.$executeRawUnsafe(forged.sql, ...forged.params)))).toEqual(rls(table));

    // Moving its own row to another tenant: refused by WITH CHECK (append-only: by privileges).
    const keyANew = keyOf(table, rowANew, 2);
    const move = db.withTenant(A, (tx) => tx.$executeRawUnsafe(
      `UPDATE ${q(table)} SET tenant_id = $1::uuid WHERE ${keyANew.where}`, B.tenantId, ...keyANew.params));
    expect(await failure(move)).toEqual(appendOnly ? denied(table) : rls(table));

    if (appendOnly) {
      // Append-only: no update or delete at all, not even of its own rows.
      for (const [sql, key] of [
        [`UPDATE ${q(table)} SET tenant_id = tenant_id WHERE ${keyA.where}`, keyA],
        [`DELETE FROM ${q(table)} WHERE ${keyA.where}`, keyA],
        [`UPDATE ${q(table)} SET tenant_id = tenant_id WHERE ${keyB.where}`, keyB],
        [`DELETE FROM ${q(table)} WHERE ${keyB.where}`, keyB],
      ] as const) {
        expect(await failure(db.withTenant(A, (tx) => tx.$executeRawUnsafe(sql, ...key.params))), sql).toEqual(denied(table));
      }
    }

    // Afterwards, as the owner: B's row untouched, the forged row absent, A's new row still A's.
    const after = await owner.query<{ t: string }>(`SELECT tenant_id::text AS t FROM ${q(table)} WHERE ${keyB.where}`, keyB.params);
    expect(after.rows).toEqual([{ t: B.tenantId }]);
    const forgedKey = keyOf(table, rowBForged);
    expect((await owner.query(`SELECT 1 FROM ${q(table)} WHERE ${forgedKey.where}`, forgedKey.params)).rows).toEqual([]);
    const newKey = keyOf(table, rowANew);
    expect((await owner.query(`SELECT tenant_id::text AS t FROM ${q(table)} WHERE ${newKey.where}`, newKey.params)).rows)
      .toEqual([{ t: A.tenantId }]);
  });
});

describe('the tenants table', () => {
  it('a tenant sees and may rename only itself, and can neither create nor delete tenants', async () => {
    const A = await createTenant(owner, 'A');
    const B = await createTenant(owner, 'B');
    const r = await db.withTenant(A, async (tx) => ({
      visible: await tx.$queryRawUnsafe<{ id: string }[]>('SELECT id::text AS id FROM tenants'),
      renameB: await tx.$executeRawUnsafe(`UPDATE tenants SET name = 'pwned' WHERE id = $1::uuid`, B.tenantId),
      renameA: await tx.$executeRawUnsafe(`UPDATE tenants SET name = 'A2' WHERE id = $1::uuid`, A.tenantId),
      viaClient: await tx.tenant.findMany({ select: { id: true } }),
    }));
    expect(r.visible).toEqual([{ id: A.tenantId }]);
    expect(r.viaClient).toEqual([{ id: A.tenantId }]);
    expect(r.renameB).toBe(0);
    expect(r.renameA).toBe(1);
    expect(await failure(db.withTenant(A, (tx) => tx.$executeRawUnsafe(
      `INSERT INTO tenants (id, slug, name) VALUES ($1::uuid, $2, 'x')`, randomUUID(), `s-${rand()}`)))).toEqual(denied('tenants'));
    expect(await failure(db.withTenant(A, (tx) => tx.$executeRawUnsafe(`DELETE FROM tenants WHERE id = $1::uuid`, A.tenantId))))
      .toEqual(denied('tenants'));
    expect(await failure(db.withTenant(A, (tx) => tx.$executeRawUnsafe(
      `UPDATE tenants SET id = $1::uuid WHERE id = $2::uuid`, B.tenantId, A.tenantId)))).toMatchObject({ code: '42501' });
    const names = await owner.query('SELECT id::text AS id, name FROM tenants WHERE id = ANY($1::uuid[]) ORDER BY name', [[A.tenantId, B.tenantId]]);
    expect(names.rows).toEqual([{ id: A.tenantId, name: 'A2' }, { id: B.tenantId, name: 'B' }]);
  });
});

describe('without a tenant', () => {
  it('tenantScope() rejects anything that is not a uuid, and withTenant() refuses a forged scope before touching the database', async () => {
    for (const bad of ['x', '', "' OR 1=1 --", '00000000-0000-0000-0000-00000000000', `${randomUUID()} `]) {
      expect(() => tenantScope(bad), JSON.stringify(bad)).toThrow(`not a tenant id: ${JSON.stringify(bad)}`);
    }
    const id = randomUUID();
    expect(tenantScope(id.toUpperCase()).tenantId).toBe(id);

    // A Db whose database does not exist: any round trip would fail with a connection error.
    const unreachable = createDb({ url: 'postgres://nobody:nothing@127.0.0.1:9/none?sslmode=disable', poolSize: 1 });
    const fn = vi.fn(async () => 'ran');
    try {
      await expect(unreachable.withTenant({ tenantId: id } as unknown as TenantScope, fn)).rejects.toThrow(
        'withTenant needs a TenantScope from tenantScope()');
      await expect(unreachable.withTenant(id as unknown as TenantScope, fn)).rejects.toThrow('withTenant needs a TenantScope');
      await expect(unreachable.withTenant(undefined as unknown as TenantScope, fn)).rejects.toThrow('withTenant needs a TenantScope');
      expect(fn).not.toHaveBeenCalled();
    } finally {
      await unreachable.close();
    }
  });

  it('a hand-made scope with a non-uuid id is rejected by the database too, not turned into a wider query', async () => {
    const forged = { tenantId: "x' OR '1'='1", __scope: 'tenant' } as TenantScope;
    expect(await failure(db.withTenant(forged, (tx) => tx.agent.count()))).toMatchObject({ code: '22P02' });
  });

  it('the app role with no tenant set sees no tenant rows and cannot insert any', async () => {
    const T = await createTenant(owner, 'T');
    await buildGraph(owner, T.tenantId, plan);
    // Control: there are rows in the tenant tables.
    const total = await owner.query<{ n: number }>('SELECT count(*)::int AS n FROM agents');
    expect(total.rows[0]!.n).toBeGreaterThan(0);

    for (const setting of [null, '']) {
      await owner.query('BEGIN');
      try {
        await owner.query(`SELECT set_config('role', $1, true)`, [APP]);
        if (setting !== null) await owner.query(`SELECT set_config('app.tenant_id', $1, true)`, [setting]);
        const who = await owner.query('SELECT current_user::text AS u, konstruct_tenant_id() AS t');
        expect(who.rows).toEqual([{ u: APP, t: null }]);
        const counts: Record<string, number> = {};
        for (const t of [...catalog.tenantTables, 'tenants']) {
          counts[t] = (await owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${q(t)}`)).rows[0]!.n;
        }
        expect(counts).toEqual(Object.fromEntries([...catalog.tenantTables, 'tenants'].map((t) => [t, 0])));
        const err = await failure(owner.query(`INSERT INTO agents (id, tenant_id, name) VALUES ($1, $2, 'x')`, [randomUUID(), T.tenantId]));
        expect(err).toEqual(rls('agents'));
      } finally {
        await owner.query('ROLLBACK');
      }
    }
    // The role and tenant were transaction-local: the shared session is back to the owner.
    expect((await owner.query('SELECT current_user::text AS u, konstruct_tenant_id() AS t')).rows).toEqual([{ u: 'postgres', t: null }]);
  });

  it('the router role reads channel connections and API keys across tenants, and nothing else', async () => {
    const A = await createTenant(owner, 'A');
    const B = await createTenant(owner, 'B');
    const conns: string[] = [];
    const prefixes: string[] = [];
    for (const t of [A, B]) {
      const g = await buildGraph(owner, t.tenantId, plan);
      conns.push(g.connectionId);
      const key = await ownerInsert(owner, 'api_keys', await FIXTURES.api_keys!(owner, g));
      prefixes.push(key.prefix!);
    }
    const r = await db.withRouting(async (tx) => ({
      who: await (tx as unknown as TenantTx).$queryRawUnsafe('SELECT current_user::text AS u, konstruct_tenant_id() AS t'),
      conns: await tx.channelConnection.findMany({ where: { id: { in: conns } }, select: { tenantId: true }, orderBy: { tenantId: 'asc' } }),
      keys: await tx.apiKey.findMany({ where: { prefix: { in: prefixes } }, select: { tenantId: true }, orderBy: { tenantId: 'asc' } }),
    }));
    expect(r.who).toEqual([{ u: ROUTER, t: null }]);
    const both = [A.tenantId, B.tenantId].sort().map((tenantId) => ({ tenantId }));
    expect(r.conns).toEqual(both);
    expect(r.keys).toEqual(both);

    const raw = (sql: string, ...params: unknown[]) =>
      failure(db.withRouting((tx) => (tx as unknown as TenantTx).$executeRawUnsafe(sql, ...params)));
    expect(await raw('SELECT count(*) FROM agents')).toEqual(denied('agents'));
    expect(await raw('SELECT count(*) FROM messages')).toEqual(denied('messages'));
    expect(await raw('SELECT count(*) FROM provider_keys')).toEqual(denied('provider_keys'));
    expect(await raw(`UPDATE channel_connections SET status = 'disabled' WHERE id = $1::uuid`, conns[0])).toEqual(denied('channel_connections'));
    expect(await raw(`DELETE FROM api_keys WHERE prefix = $1`, prefixes[0])).toEqual(denied('api_keys'));
  });
});

describe('concurrency', () => {
  it('many interleaved transactions for two tenants on one pool each only ever see their own tenant', async () => {
    const A = await createTenant(owner, 'A');
    const B = await createTenant(owner, 'B');
    const N = 50;

    const run = (scope: TenantScope, i: number) => db.withTenant(scope, async (tx) => {
      const [first] = await tx.$queryRaw<{ t: string }[]>`SELECT konstruct_tenant_id()::text AS t`;
      await tick();
      const before = await tx.agent.count();
      const visibleBefore = await tx.$queryRaw<{ t: string }[]>`SELECT DISTINCT tenant_id::text AS t FROM agents`;
      await tick();
      const created = await tx.agent.create({ data: { tenantId: scope.tenantId, name: `c-${i}` }, select: { id: true, tenantId: true } });
      await tick();
      const [last] = await tx.$queryRaw<{ t: string; n: number }[]>`SELECT konstruct_tenant_id()::text AS t, (SELECT count(*)::int FROM agents) AS n`;
      return { tenant: scope.tenantId, first: first!.t, last: last!.t, before, after: last!.n, visibleBefore, created };
    });

    const jobs: Promise<Awaited<ReturnType<typeof run>>>[] = [];
    for (let i = 0; i < N; i++) jobs.push(run(A, i), run(B, i));
    const results = await Promise.all(jobs);

    const wrong = results.filter((r) =>
      r.first !== r.tenant || r.last !== r.tenant || r.created.tenantId !== r.tenant ||
      r.visibleBefore.some((v) => v.t !== r.tenant) || r.after < r.before + 1 || r.after > N);
    const summary = wrong.slice(0, 5).map((r) => ({
      tenant: r.tenant, first: r.first, last: r.last, before: r.before, after: r.after, created: r.created.tenantId,
      foreignTenantsVisible: r.visibleBefore.filter((v) => v.t !== r.tenant).length,
    }));
    expect(wrong.length, `${wrong.length} of ${results.length} transactions saw another tenant: ${JSON.stringify(summary, null, 1)}`).toBe(0);

    if (!process.env.TEST_DATABASE_URL) {
      // The embedded server runs one transaction at a time: each saw exactly the commits before it.
      for (const t of [A, B]) {
        const mine = results.filter((r) => r.tenant === t.tenantId);
        expect(mine.map((r) => r.before).sort((x, y) => x - y)).toEqual(Array.from({ length: N }, (_, i) => i));
        expect(mine.every((r) => r.after === r.before + 1)).toBe(true);
      }
    }

    const finals = await owner.query<{ t: string; n: number }>(
      `SELECT tenant_id::text AS t, count(*)::int AS n FROM agents WHERE tenant_id = ANY($1::uuid[]) GROUP BY 1 ORDER BY 1`,
      [[A.tenantId, B.tenantId]]);
    expect(finals.rows).toEqual([A.tenantId, B.tenantId].sort().map((t) => ({ t, n: N })));
    expect(await db.withTenant(A, (tx) => tx.agent.count())).toBe(N);
    expect(await db.withTenant(B, (tx) => tx.agent.count())).toBe(N);
    // No role or tenant leaked into the (shared) session.
    expect((await owner.query('SELECT current_user::text AS u, konstruct_tenant_id() AS t')).rows).toEqual([{ u: 'postgres', t: null }]);
  });
});

describe('audit chain', () => {
  async function auditTrail(scope: TenantScope, n: number) {
    return db.withTenant(scope, async (tx) => {
      for (let i = 1; i <= n; i++) {
        await tx.auditEvent.create({
          data: { tenantId: scope.tenantId, actorKind: 'operator', actorId: `op-${i}`, action: `thing.${i}`, subjectType: 'agent', subjectId: `a-${i}`, data: { i, note: 'ok' } },
        });
      }
      return tx.auditEvent.findMany({ orderBy: { seq: 'asc' }, select: { id: true, seq: true, prevHash: true, hash: true } });
    });
  }
  const verify = async (scope: TenantScope) =>
    (await owner.query<{ seq: number; id: string; problem: string }>(
      'SELECT seq::int AS seq, id::text AS id, problem FROM konstruct_audit_verify($1)', [scope.tenantId])).rows;

  /**
   * As the owner, with the immutability trigger disabled only inside this one transaction (so
   * no other test ever sees it off). `$1` is the tenant id; each statement must hit one row.
   */
  async function tamper(tenantId: string, ...statements: string[]) {
    await owner.query('BEGIN');
    try {
      await owner.query('ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update');
      for (const sql of statements) expect((await owner.query(sql, [tenantId])).rowCount, sql).toBe(1);
      await owner.query('ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update');
      await owner.query('COMMIT');
    } catch (e) {
      await owner.query('ROLLBACK');
      throw e;
    }
  }

  it('events get consecutive seq numbers and a linked hash chain that verifies; the app cannot forge them', async () => {
    const T = await createTenant(owner, 'Audit');
    const events = await auditTrail(T, 4);
    expect(events.map((e) => e.seq)).toEqual([1n, 2n, 3n, 4n]);
    expect(events[0]!.prevHash).toBe('0'.repeat(64));
    for (let i = 1; i < events.length; i++) expect(events[i]!.prevHash).toBe(events[i - 1]!.hash);
    for (const e of events) expect(e.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(events.map((e) => e.hash)).size).toBe(4);

    // seq / prev_hash / hash supplied by the caller are ignored: the trigger sets them.
    const forged = await db.withTenant(T, (tx) => tx.auditEvent.create({
      data: { tenantId: T.tenantId, actorKind: 'system', action: 'forge', seq: 99n, prevHash: 'f'.repeat(64), hash: 'e'.repeat(64) },
    }));
    expect(forged.seq).toBe(5n);
    expect(forged.prevHash).toBe(events[3]!.hash);
    expect(forged.hash).not.toBe('e'.repeat(64));

    expect(await verify(T)).toEqual([]);
    expect(await db.withTenant(T, (tx) => tx.$queryRaw`SELECT * FROM konstruct_audit_verify(${T.tenantId}::uuid)`)).toEqual([]);
  });

  it('verify names the event whose contents were changed', async () => {
    const T = await createTenant(owner, 'Audit tampered');
    const events = await auditTrail(T, 4);
    await tamper(T.tenantId, `UPDATE audit_events SET data = '{"i": 3, "note": "refund approved"}' WHERE tenant_id = $1 AND seq = 3`);
    expect(await verify(T)).toEqual([{ seq: 3, id: events[2]!.id, problem: 'hash does not match the event contents' }]);
    expect(await db.withTenant(T, (tx) => tx.$queryRaw`SELECT seq::int AS seq, problem FROM konstruct_audit_verify(${T.tenantId}::uuid)`))
      .toEqual([{ seq: 3, problem: 'hash does not match the event contents' }]);
    // The trigger is back on: even the owner cannot change or remove events now.
    expect(await failure(owner.query(`UPDATE audit_events SET action = 'x' WHERE tenant_id = $1`, [T.tenantId])))
      .toEqual({ code: '42501', message: 'audit_events is append-only (UPDATE refused)' });
    expect(await failure(owner.query(`DELETE FROM audit_events WHERE tenant_id = $1`, [T.tenantId])))
      .toEqual({ code: '42501', message: 'audit_events is append-only (DELETE refused)' });
  });

  it('verify catches a rehashed edit (broken link) and a removed event (gap)', async () => {
    const R = await createTenant(owner, 'Audit rehashed');
    const r = await auditTrail(R, 4);
    // A careful forger recomputes the edited event's own hash; the next event's link breaks.
    await tamper(R.tenantId,
      `UPDATE audit_events SET data = '{"i": 2, "note": "edited"}' WHERE tenant_id = $1 AND seq = 2`,
      'UPDATE audit_events e SET hash = konstruct_audit_hash(e) WHERE tenant_id = $1 AND seq = 2');
    expect(await verify(R)).toEqual([{ seq: 3, id: r[2]!.id, problem: 'prev_hash does not match the previous event' }]);

    const G = await createTenant(owner, 'Audit gap');
    const g = await auditTrail(G, 4);
    await tamper(G.tenantId, 'DELETE FROM audit_events WHERE tenant_id = $1 AND seq = 2');
    expect(await verify(G)).toEqual([{ seq: 3, id: g[2]!.id, problem: 'gap before this event' }]);
  });

  it('nobody can truncate the log, and the app role cannot switch the trigger off', async () => {
    await owner.query('BEGIN');
    try {
      expect(await failure(owner.query('TRUNCATE audit_events'))).toEqual({ code: '42501', message: 'audit_events is append-only (TRUNCATE refused)' });
    } finally {
      await owner.query('ROLLBACK');
    }
    const T = await createTenant(owner, 'Audit owner');
    expect(await failure(db.withTenant(T, (tx) => tx.$executeRawUnsafe('ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update'))))
      .toEqual({ code: '42501', message: 'must be owner of table audit_events' });
    const { rows } = await owner.query(`SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'audit_events'::regclass AND NOT tgisinternal ORDER BY 1`);
    expect(rows).toEqual([
      { tgname: 'audit_events_chain', tgenabled: 'O' },
      { tgname: 'audit_events_no_truncate', tgenabled: 'O' },
      { tgname: 'audit_events_no_update', tgenabled: 'O' },
    ]);
  });
});
