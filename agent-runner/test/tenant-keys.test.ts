import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptSecret, keyringFrom } from '@konstruct/core';
import type { Db } from '@konstruct/db';
import { startFakeAnthropic, startFakeOllama, startFakeOpenAI, type FakeAnthropic, type FakeOllama, type FakeOpenAI } from '../../test/fakes/index.ts';
import { appDb } from '../../test/support/db.ts';
import { as, startBillingHarness, type BillingHarness } from '../../subgraphs/billing/test/harness.ts';
import { parseModelGroups } from '../src/llm/deployments.ts';
import { createAnthropicAdapter } from '../src/llm/providers/anthropic.ts';
import { createOllamaAdapter } from '../src/llm/providers/ollama.ts';
import { createOpenAiAdapter } from '../src/llm/providers/openai.ts';
import { LlmRouter } from '../src/llm/router.ts';
import { createTenantKeyResolver, providerKeyContext } from '../src/llm/tenant-keys.ts';

const ADD = `mutation($input: AddProviderKeyInput!) { addProviderKey(input: $input) { __typename ... on ProviderKey { id } ... on ValidationError { message } } }`;
const ROTATE = `mutation($id: ID!, $key: String!) { rotateProviderKey(id: $id, key: $key) { __typename } }`;
const REVOKE = `mutation($id: ID!) { revokeProviderKey(id: $id) { __typename } }`;

const secret = (prefix: string) => `${prefix}-${randomBytes(18).toString('base64url')}`;

let h: BillingHarness;
let db: Db;
let queries = 0;
/** The app database, counting tenant transactions so cache hits are observable. */
let countingDb: Db;

beforeAll(async () => {
  h = await startBillingHarness();
  db = appDb(3);
  countingDb = {
    ...db,
    withTenant: (scope, fn) => {
      queries += 1;
      return db.withTenant(scope, fn);
    },
  };
});
afterAll(async () => {
  await db?.close();
  await h?.close();
});

async function addKey(tenantId: string, provider: 'OPENAI' | 'ANTHROPIC' | 'OLLAMA', key: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await h.call(ADD, { input: { provider, key, label: 'byo', ...extra } }, as.admin(tenantId));
  expect(res.errors).toBeUndefined();
  expect(res.data.addProviderKey.__typename).toBe('ProviderKey');
  return res.data.addProviderKey.id;
}

describe('tenant key resolver', () => {
  it("loads the tenant's newest live key under its own scope, decrypts it, and caches it briefly", async () => {
    const tenantA = await h.tenant('A');
    const tenantB = await h.tenant('B');
    const older = secret('sk-older');
    const newer = secret('sk-newer');
    await addKey(tenantA, 'OPENAI', older);
    await new Promise((r) => setTimeout(r, 5));
    const newerId = await addKey(tenantA, 'OPENAI', newer);
    await addKey(tenantB, 'ANTHROPIC', secret('sk-ant-b'));

    let now = 0;
    const keys = createTenantKeyResolver({ db: countingDb, keyring: h.ring, ttlMs: 1_000, now: () => now });
    queries = 0;
    expect(await keys.resolve(tenantA, 'openai')).toEqual({ keyId: newerId, provider: 'openai', apiKey: newer, baseUrl: null });
    expect(await keys.resolve(tenantA, 'anthropic')).toBeNull();
    // B's anthropic key exists, but never for A; and B has no OpenAI key.
    expect(await keys.resolve(tenantB, 'openai')).toBeNull();
    expect(queries).toBe(3);

    // Cached: concurrent and repeated look-ups within the TTL do not query again.
    await Promise.all([keys.resolve(tenantA, 'openai'), keys.resolve(tenantA, 'openai')]);
    expect(queries).toBe(3);

    // Revoked through the API: seen after the TTL (or at once after invalidate).
    expect((await h.call(REVOKE, { id: newerId }, as.admin(tenantA))).data.revokeProviderKey.__typename).toBe('ProviderKey');
    expect((await keys.resolve(tenantA, 'openai'))?.apiKey).toBe(newer);
    now += 1_001;
    expect((await keys.resolve(tenantA, 'openai'))?.apiKey).toBe(older);
    expect(queries).toBe(4);
  });

  it('picks up a rotated key after invalidate, and ignores a key sealed under an unknown master key', async () => {
    const tenant = await h.tenant('Rotating');
    const first = secret('sk-first');
    const id = await addKey(tenant, 'OPENAI', first);
    const keys = createTenantKeyResolver({ db, keyring: h.ring });
    expect((await keys.resolve(tenant, 'openai'))?.apiKey).toBe(first);
    const second = secret('sk-second');
    expect((await h.call(ROTATE, { id, key: second }, as.admin(tenant))).data.rotateProviderKey.__typename).toBe('ProviderKey');
    keys.invalidate(tenant, 'openai');
    expect((await keys.resolve(tenant, 'openai'))?.apiKey).toBe(second);

    const other = await h.tenant('Foreign key');
    const foreignId = randomUUID();
    const foreignRing = keyringFrom(randomBytes(32).toString('base64'));
    await h.owner.query(`INSERT INTO provider_keys (id, tenant_id, provider, key_enc, key_hint) VALUES ($1, $2, 'openai', $3, '****')`, [
      foreignId,
      other,
      encryptSecret(foreignRing, 'sk-unreadable', providerKeyContext(foreignId)),
    ]);
    expect(await keys.resolve(other, 'openai')).toBeNull();
  });
});

describe('router with tenant keys from the database', () => {
  let openai: FakeOpenAI;
  let anthropic: FakeAnthropic;
  let ollama: FakeOllama;
  beforeAll(async () => {
    [openai, anthropic, ollama] = await Promise.all([startFakeOpenAI(), startFakeAnthropic(), startFakeOllama()]);
  });
  afterAll(async () => {
    await Promise.all([openai?.close(), anthropic?.close(), ollama?.close()]);
  });

  it("sends the tenant's own key (x-api-key / Authorization) in preference to the platform key", async () => {
    const groups = parseModelGroups(JSON.stringify({ default: ['openai:gpt-4o-mini'], claude: ['anthropic:claude-3-5-haiku-latest'] }), 'gpt-4o-mini');
    if ('error' in groups) throw new Error(groups.error);
    const router = new LlmRouter({
      adapters: { openai: createOpenAiAdapter(), anthropic: createAnthropicAdapter(), ollama: createOllamaAdapter() },
      platform: {
        openai: { baseUrl: `${openai.url}/v1`, apiKey: 'sk-platform-openai' },
        anthropic: { baseUrl: anthropic.url, apiKey: 'sk-ant-platform' },
        ollama: { baseUrl: ollama.url },
      },
      groups: groups.groups,
      tenantKeys: createTenantKeyResolver({ db, keyring: h.ring }),
      timeoutMs: 5_000,
      maxTokens: 256,
      retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 0 },
      cooldown: { failureThreshold: 3, cooldownMs: 1_000 },
    });
    const byo = await h.tenant('BYO');
    const plain = await h.tenant('Platform');
    const openaiKey = secret('sk-proj-byo');
    const anthropicKey = secret('sk-ant-byo');
    await addKey(byo, 'OPENAI', openaiKey);
    await addKey(byo, 'ANTHROPIC', anthropicKey);
    const ask = { messages: [{ role: 'user' as const, content: 'hi' }] };

    const a = await router.complete({ ...ask, tenantId: byo });
    expect(a.keySource).toBe('tenant');
    expect(openai.requests.at(-1)!.headers.authorization).toBe(`Bearer ${openaiKey}`);
    const c = await router.complete({ ...ask, tenantId: byo, preferences: { group: 'claude' } });
    expect(c.provider).toBe('anthropic');
    expect(anthropic.requests.at(-1)!.headers.authorization).toBe(`Bearer ${anthropicKey}`);
    expect(anthropic.requests.at(-1)!.headers['x-api-key']).toBeUndefined();

    const p = await router.complete({ ...ask, tenantId: plain });
    expect(p.keySource).toBe('platform');
    expect(openai.requests.at(-1)!.headers.authorization).toBe('Bearer sk-platform-openai');
  });
});

describe('no plaintext key at rest', () => {
  /** Every row of every table in the public schema, rendered as text: all columns of all types. */
  async function tablesContaining(needle: string): Promise<string[]> {
    const { rows: tables } = await h.owner.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`,
    );
    expect(tables.length).toBeGreaterThan(10);
    const hits: string[] = [];
    for (const { table_name } of tables) {
      const { rows } = await h.owner.query(`SELECT count(*)::int AS n FROM "${table_name}" t WHERE strpos(t::text, $1) > 0`, [needle]);
      if (rows[0].n > 0) hits.push(table_name);
    }
    return hits;
  }
  const encodings = (s: string) => [s, Buffer.from(s).toString('base64'), Buffer.from(s).toString('base64url'), Buffer.from(s).toString('hex')];

  it('finds no stored provider key in any column of any table, in any plain encoding', async () => {
    const tenant = await h.tenant('Scan');
    const keys = {
      openai: secret('sk-proj-SCANME'),
      anthropic: secret('sk-ant-api03-SCANME'),
      ollama: secret('ollama-SCANME'),
      rotated: secret('sk-proj-ROTATED'),
    };
    const id = await addKey(tenant, 'OPENAI', keys.openai);
    await addKey(tenant, 'ANTHROPIC', keys.anthropic);
    await addKey(tenant, 'OLLAMA', keys.ollama, { baseUrl: 'http://127.0.0.1:11434' });
    await h.call(ROTATE, { id, key: keys.rotated }, as.admin(tenant));
    // The keys really are in the database, sealed, and usable by the runner.
    const resolver = createTenantKeyResolver({ db, keyring: h.ring });
    expect((await resolver.resolve(tenant, 'openai'))?.apiKey).toBe(keys.rotated);
    expect((await resolver.resolve(tenant, 'ollama'))?.baseUrl).toBe('http://127.0.0.1:11434');

    for (const key of Object.values(keys)) {
      for (const encoded of encodings(key)) expect(await tablesContaining(encoded), encoded).toEqual([]);
    }
  });

  it('would notice a plaintext key (the scan can fail)', async () => {
    const tenant = await h.tenant('Leaky');
    const leaked = secret('sk-proj-LEAKED');
    await h.owner.query(`INSERT INTO provider_keys (id, tenant_id, provider, key_enc, key_hint, label) VALUES ($1, $2, 'openai', 'kv1.x', '****', $3)`, [
      randomUUID(),
      tenant,
      `note: ${Buffer.from(leaked).toString('base64')}`,
    ]);
    expect(await tablesContaining(Buffer.from(leaked).toString('base64'))).toEqual(['provider_keys']);
  });
});
