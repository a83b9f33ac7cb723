import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptSecret } from '@konstruct/core';
import { providerKeyContext } from '../src/data/provider-keys.ts';
import { as, codes, startBillingHarness, type BillingHarness } from './harness.ts';

const FIELDS = 'id provider label keyLast4 baseUrl createdAt rotatedAt revokedAt';
const ADD = `mutation($input: AddProviderKeyInput!) { addProviderKey(input: $input) {
  __typename ... on ProviderKey { ${FIELDS} } ... on ValidationError { message field } } }`;
const ROTATE = `mutation($id: ID!, $key: String!) { rotateProviderKey(id: $id, key: $key) {
  __typename ... on ProviderKey { ${FIELDS} } ... on ValidationError { message field } ... on NotFound { id } } }`;
const REVOKE = `mutation($id: ID!) { revokeProviderKey(id: $id) {
  __typename ... on ProviderKey { ${FIELDS} } ... on NotFound { id message } } }`;
const LIST = `query($all: Boolean) { providerKeys(includeRevoked: $all) { ${FIELDS} } }`;

let h: BillingHarness;
let tenantA: string;
let tenantB: string;

beforeAll(async () => {
  h = await startBillingHarness();
  tenantA = await h.tenant('A');
  tenantB = await h.tenant('B');
});
afterAll(async () => {
  await h?.close();
});

async function storedRow(id: string) {
  const { rows } = await h.owner.query<{ key_enc: string; key_hint: string; row_text: string }>(
    'SELECT key_enc, key_hint, p::text AS row_text FROM provider_keys p WHERE id = $1',
    [id],
  );
  return rows[0]!;
}

async function add(tenantId: string, input: Record<string, unknown>) {
  const res = await h.call(ADD, { input }, as.admin(tenantId));
  expect(res.errors).toBeUndefined();
  return res.data.addProviderKey;
}

describe('provider keys', () => {
  it('stores the key sealed (kv1.), shows only the last four, and never returns it', async () => {
    const plaintext = 'sk-proj-PLAINTEXTsecretVALUE-9f8e7d6c';
    const res = await h.call(ADD, { input: { provider: 'OPENAI', label: 'prod', key: plaintext, baseUrl: 'https://api.openai.com/v1' } }, as.admin(tenantA));
    expect(res.errors).toBeUndefined();
    const key = res.data.addProviderKey;
    expect(key).toMatchObject({ __typename: 'ProviderKey', provider: 'OPENAI', label: 'prod', keyLast4: '7d6c', baseUrl: 'https://api.openai.com/v1', rotatedAt: null, revokedAt: null });
    expect(JSON.stringify(res)).not.toContain(plaintext);

    const row = await storedRow(key.id);
    expect(row.key_enc.startsWith('kv1.')).toBe(true);
    expect(row.key_hint).toBe('7d6c');
    expect(row.row_text).not.toContain(plaintext);
    expect(row.row_text).not.toContain('PLAINTEXTsecretVALUE');
    // It is the real key, sealed to this row: it opens with the row's context and no other.
    expect(decryptSecret(h.ring, row.key_enc, providerKeyContext(key.id))).toBe(plaintext);
    expect(() => decryptSecret(h.ring, row.key_enc, providerKeyContext(tenantA))).toThrow();

    const list = await h.call(LIST, {}, as.viewer(tenantA));
    expect(list.errors).toBeUndefined();
    expect(list.data.providerKeys.map((k: { id: string }) => k.id)).toContain(key.id);
    expect(JSON.stringify(list)).not.toContain(plaintext);
  });

  it('has no field in the schema that could return the key', async () => {
    const res = await h.call(`{ __type(name: "ProviderKey") { fields { name } } }`, {}, as.viewer(tenantA));
    expect(res.errors).toBeUndefined();
    const names = res.data.__type.fields.map((f: { name: string }) => f.name).sort();
    expect(names).toEqual(['baseUrl', 'createdAt', 'id', 'keyLast4', 'label', 'provider', 'revokedAt', 'rotatedAt']);
    // Nothing anywhere in the graph exposes the ciphertext or a plain key either.
    const all = await h.call(`{ __schema { types { name fields { name } } } }`, {}, as.viewer(tenantA));
    const fieldNames = all.data.__schema.types.flatMap((t: { fields: { name: string }[] | null }) => (t.fields ?? []).map((f) => f.name));
    expect(fieldNames.filter((n: string) => /^(key|keyEnc|secret|apiKey|plaintext)$/i.test(n))).toEqual([]);
  });

  it('hides the hint of a short key', async () => {
    const key = await add(tenantA, { provider: 'ANTHROPIC', key: 'abcdefgh1' });
    expect(key.keyLast4).toBe('****');
    expect(key.label).toBe('');
  });

  it('validates the key and the base URL, and stores nothing when invalid', async () => {
    const t = await h.tenant('validation');
    const cases: [Record<string, unknown>, string][] = [
      [{ provider: 'OPENAI', key: '' }, 'key'],
      [{ provider: 'OPENAI', key: '        ' }, 'key'],
      [{ provider: 'OPENAI', key: 'short12' }, 'key'],
      [{ provider: 'OPENAI', key: 'sk-with space-inside' }, 'key'],
      [{ provider: 'OPENAI', key: 'sk-valid-key-123', baseUrl: 'http://api.openai.com' }, 'baseUrl'],
      [{ provider: 'ANTHROPIC', key: 'sk-valid-key-123', baseUrl: 'not a url' }, 'baseUrl'],
      [{ provider: 'OLLAMA', key: 'sk-valid-key-123', baseUrl: 'ftp://ollama.local' }, 'baseUrl'],
      [{ provider: 'OPENAI', key: 'sk-valid-key-123', baseUrl: 'https://user:pw@proxy.example.com' }, 'baseUrl'],
      [{ provider: 'OPENAI', key: 'sk-valid-key-123', label: 'x'.repeat(101) }, 'label'],
    ];
    for (const [input, field] of cases) {
      const r = await add(t, input);
      expect(r, JSON.stringify(input)).toMatchObject({ __typename: 'ValidationError', field });
    }
    const { rows } = await h.owner.query('SELECT count(*)::int AS n FROM provider_keys WHERE tenant_id = $1', [t]);
    expect(rows[0].n).toBe(0);

    // Ollama may use plain http on the tenant's network; a pasted trailing newline is trimmed.
    const ollama = await add(t, { provider: 'OLLAMA', key: 'ollama-token-1234\n', baseUrl: 'http://10.0.0.5:11434' });
    expect(ollama).toMatchObject({ __typename: 'ProviderKey', provider: 'OLLAMA', baseUrl: 'http://10.0.0.5:11434', keyLast4: '1234' });
    expect(decryptSecret(h.ring, (await storedRow(ollama.id)).key_enc, providerKeyContext(ollama.id))).toBe('ollama-token-1234');
  });

  it('rotates: new ciphertext, new hint, rotatedAt set, old key gone', async () => {
    const key = await add(tenantA, { provider: 'OPENAI', label: 'rotating', key: 'sk-old-key-AAAA1111' });
    const before = await storedRow(key.id);
    const res = await h.call(ROTATE, { id: key.id, key: 'sk-new-key-BBBB2222' }, as.admin(tenantA));
    expect(res.errors).toBeUndefined();
    const rotated = res.data.rotateProviderKey;
    expect(rotated).toMatchObject({ __typename: 'ProviderKey', id: key.id, label: 'rotating', keyLast4: '2222', revokedAt: null });
    expect(rotated.rotatedAt).not.toBeNull();
    const after = await storedRow(key.id);
    expect(after.key_enc).not.toBe(before.key_enc);
    expect(after.row_text).not.toContain('sk-new-key-BBBB2222');
    expect(after.row_text).not.toContain('sk-old-key-AAAA1111');
    expect(decryptSecret(h.ring, after.key_enc, providerKeyContext(key.id))).toBe('sk-new-key-BBBB2222');

    const invalid = await h.call(ROTATE, { id: key.id, key: 'short' }, as.admin(tenantA));
    expect(invalid.data.rotateProviderKey).toMatchObject({ __typename: 'ValidationError', field: 'key' });
    expect((await storedRow(key.id)).key_enc).toBe(after.key_enc);
  });

  it('revokes: revokedAt set, ciphertext erased, hidden from the default list, cannot be rotated', async () => {
    const key = await add(tenantA, { provider: 'ANTHROPIC', label: 'to revoke', key: 'sk-ant-revoke-me-5678' });
    const res = await h.call(REVOKE, { id: key.id }, as.admin(tenantA));
    expect(res.errors).toBeUndefined();
    const revoked = res.data.revokeProviderKey;
    expect(revoked).toMatchObject({ __typename: 'ProviderKey', id: key.id });
    expect(revoked.revokedAt).not.toBeNull();
    expect((await storedRow(key.id)).key_enc).toBe('');

    const again = await h.call(REVOKE, { id: key.id }, as.admin(tenantA));
    expect(again.data.revokeProviderKey.revokedAt).toBe(revoked.revokedAt);

    const live = await h.call(LIST, {}, as.admin(tenantA));
    expect(live.data.providerKeys.map((k: { id: string }) => k.id)).not.toContain(key.id);
    const everything = await h.call(LIST, { all: true }, as.admin(tenantA));
    expect(everything.data.providerKeys.map((k: { id: string }) => k.id)).toContain(key.id);

    const rotate = await h.call(ROTATE, { id: key.id, key: 'sk-ant-new-material-1' }, as.admin(tenantA));
    expect(rotate.data.rotateProviderKey).toMatchObject({ __typename: 'ValidationError', field: 'id' });
    expect((await storedRow(key.id)).key_enc).toBe('');
  });

  it("tenant A cannot see, rotate or revoke tenant B's key", async () => {
    const bKey = await add(tenantB, { provider: 'OPENAI', label: 'B', key: 'sk-tenant-b-key-0000' });
    const bBefore = await storedRow(bKey.id);

    const revoke = await h.call(REVOKE, { id: bKey.id }, as.admin(tenantA));
    expect(revoke.errors).toBeUndefined();
    expect(revoke.data.revokeProviderKey).toMatchObject({ __typename: 'NotFound', id: bKey.id });
    const rotate = await h.call(ROTATE, { id: bKey.id, key: 'sk-hijacked-by-A-1' }, as.admin(tenantA));
    expect(rotate.data.rotateProviderKey).toMatchObject({ __typename: 'NotFound', id: bKey.id });
    const list = await h.call(LIST, { all: true }, as.admin(tenantA));
    expect(list.data.providerKeys.map((k: { id: string }) => k.id)).not.toContain(bKey.id);

    const { rows } = await h.owner.query('SELECT revoked_at, rotated_at, key_enc FROM provider_keys WHERE id = $1', [bKey.id]);
    expect(rows[0]).toMatchObject({ revoked_at: null, rotated_at: null, key_enc: bBefore.key_enc });

    const missing = await h.call(REVOKE, { id: 'not-a-uuid' }, as.admin(tenantA));
    expect(missing.data.revokeProviderKey).toMatchObject({ __typename: 'NotFound', id: 'not-a-uuid' });
  });

  it('viewers may list but not add, rotate or revoke', async () => {
    const key = await add(tenantA, { provider: 'OPENAI', key: 'sk-viewer-test-9999' });
    const count = async () =>
      (await h.owner.query('SELECT count(*)::int AS n FROM provider_keys WHERE tenant_id = $1', [tenantA])).rows[0].n as number;
    const before = await count();
    const addRes = await h.call(ADD, { input: { provider: 'OPENAI', key: 'sk-from-a-viewer-1' } }, as.viewer(tenantA));
    expect(codes(addRes)).toEqual(['FORBIDDEN']);
    // Even an invalid input is refused for the role first, not validated.
    const addInvalid = await h.call(ADD, { input: { provider: 'OPENAI', key: '' } }, as.viewer(tenantA));
    expect(codes(addInvalid)).toEqual(['FORBIDDEN']);
    expect(codes(await h.call(ROTATE, { id: key.id, key: 'sk-viewer-rotates-1' }, as.viewer(tenantA)))).toEqual(['FORBIDDEN']);
    expect(codes(await h.call(REVOKE, { id: key.id }, as.viewer(tenantA)))).toEqual(['FORBIDDEN']);
    const { rows } = await h.owner.query('SELECT revoked_at, rotated_at FROM provider_keys WHERE id = $1', [key.id]);
    expect(rows[0]).toMatchObject({ revoked_at: null, rotated_at: null });
    expect(await count()).toBe(before);
  });
});
