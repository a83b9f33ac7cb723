import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptSecret, encryptSecret, keyringFrom, secretContext, type MasterKeyring } from '@konstruct/core';
import { createPrisma } from '@konstruct/db/admin';
import { createTenant, databaseUrl, ownerClient } from '../test/support/db.ts';
import { findSecretColumns, prismaSql, rotateSecrets, type Sql } from './rotate-keys.ts';

const oldKey = randomBytes(32).toString('base64');
const newKey = randomBytes(32).toString('base64');
const strayKey = randomBytes(32).toString('base64');
const oldRing = keyringFrom(oldKey);
const newRing = keyringFrom(newKey, [oldKey]);
const newOnly = keyringFrom(newKey);
const strayRing = keyringFrom(strayKey);

let owner: pg.Client;
let prisma: ReturnType<typeof createPrisma>;
let sql: Sql;
beforeAll(async () => {
  owner = await ownerClient();
  prisma = createPrisma({ url: databaseUrl(), poolSize: 2 });
  sql = prismaSql(prisma);
});
afterAll(async () => {
  await prisma?.$disconnect();
  await owner?.end();
});

interface Seeded {
  table: string;
  column: string;
  id: string;
  plaintext: string;
}

async function seedTenant(ring: MasterKeyring): Promise<{ tenantId: string; secrets: Seeded[] }> {
  const { tenantId } = await createTenant(owner, 'Rotation');
  const secrets: Seeded[] = [];
  const seal = (table: string, column: string, id: string) => {
    const plaintext = `secret-${table}-${column}-${randomBytes(8).toString('hex')}`;
    secrets.push({ table, column: `${column}_enc`, id, plaintext });
    return encryptSecret(ring, plaintext, secretContext(table, column, id));
  };

  const pk = randomUUID();
  await owner.query(`INSERT INTO provider_keys (id, tenant_id, provider, key_enc, key_hint) VALUES ($1, $2, 'openai', $3, 'abcd')`, [pk, tenantId, seal('provider_keys', 'key', pk)]);
  // A revoked key has no ciphertext left; nothing to rotate.
  await owner.query(`INSERT INTO provider_keys (id, tenant_id, provider, key_enc, key_hint, revoked_at) VALUES ($1, $2, 'anthropic', '', 'wxyz', now())`, [randomUUID(), tenantId]);

  const cc = randomUUID();
  await owner.query(
    `INSERT INTO channel_connections (id, tenant_id, kind, external_id, bot_token_enc, signing_secret_enc, access_token_enc)
     VALUES ($1, $2, 'slack', $3, $4, $5, $6)`,
    [cc, tenantId, `T${randomBytes(5).toString('hex')}`, seal('channel_connections', 'bot_token', cc), seal('channel_connections', 'signing_secret', cc), seal('channel_connections', 'access_token', cc)],
  );
  const tool = randomUUID();
  await owner.query(
    `INSERT INTO tool_definitions (id, tenant_id, name, description, kind, url, hmac_secret_enc) VALUES ($1, $2, $3, 'lookup', 'http', 'https://example.com/hook', $4)`,
    [tool, tenantId, `lookup_${randomBytes(3).toString('hex')}`, seal('tool_definitions', 'hmac_secret', tool)],
  );
  return { tenantId, secrets };
}

async function stored(s: Seeded): Promise<string> {
  const { rows } = await owner.query(`SELECT ${s.column} AS v FROM ${s.table} WHERE id = $1`, [s.id]);
  return rows[0].v;
}

describe('keys:rotate', () => {
  it('finds every *_enc column through the catalog', async () => {
    const cols = (await findSecretColumns(sql)).map((c) => `${c.table}.${c.column}`);
    expect(cols).toEqual(
      expect.arrayContaining([
        'channel_connections.access_token_enc',
        'channel_connections.bot_token_enc',
        'channel_connections.signing_secret_enc',
        'provider_keys.key_enc',
        'tool_definitions.hmac_secret_enc',
      ]),
    );
  });

  it('re-wraps every secret from the previous master key to the current one, idempotently', async () => {
    const a = await seedTenant(oldRing);
    const b = await seedTenant(oldRing);
    const all = [...a.secrets, ...b.secrets];
    const before = new Map(await Promise.all(all.map(async (s) => [s.id + s.column, await stored(s)] as const)));
    // The new-only keyring cannot read them yet: that is what rotation fixes.
    expect(() => decryptSecret(newOnly, before.get(all[0]!.id + all[0]!.column)!, secretContext('provider_keys', 'key', all[0]!.id))).toThrow(/not in the keyring/);

    const tenantIds = [a.tenantId, b.tenantId];
    const dry = await rotateSecrets(sql, newRing, { tenantIds, dryRun: true });
    expect(dry.totals).toMatchObject({ total: 10, alreadyCurrent: 0, rewrapped: 10, failed: 0 });
    for (const s of all) expect(await stored(s)).toBe(before.get(s.id + s.column));

    const report = await rotateSecrets(sql, newRing, { tenantIds, batchSize: 3 });
    expect(report.keyId).toBe(newRing.current);
    expect(report.totals).toEqual({ total: 10, alreadyCurrent: 0, rewrapped: 10, changedMeanwhile: 0, failed: 0 });
    const perColumn = Object.fromEntries(report.columns.map((c) => [`${c.table}.${c.column}`, c.rewrapped]));
    expect(perColumn).toMatchObject({
      'provider_keys.key_enc': 2,
      'channel_connections.bot_token_enc': 2,
      'channel_connections.signing_secret_enc': 2,
      'channel_connections.access_token_enc': 2,
      'tool_definitions.hmac_secret_enc': 2,
    });

    for (const s of all) {
      const value = await stored(s);
      const old = before.get(s.id + s.column)!;
      expect(value.split('.')[1]).toBe(newRing.current);
      // Only the wrapped data key changed; the sealed secret itself is byte-for-byte the same.
      expect(value.split('.').slice(5)).toEqual(old.split('.').slice(5));
      expect(decryptSecret(newOnly, value, secretContext(s.table, s.column.replace(/_enc$/, ''), s.id))).toBe(s.plaintext);
    }

    const again = await rotateSecrets(sql, newRing, { tenantIds });
    expect(again.totals).toEqual({ total: 10, alreadyCurrent: 10, rewrapped: 0, changedMeanwhile: 0, failed: 0 });
  });

  it('reports secrets under a key it does not have and leaves them untouched', async () => {
    const good = await seedTenant(oldRing);
    const stray = await seedTenant(strayRing);
    const report = await rotateSecrets(sql, newRing, { tenantIds: [good.tenantId, stray.tenantId] });
    expect(report.totals).toMatchObject({ total: 10, rewrapped: 5, failed: 5 });
    const failures = report.columns.flatMap((c) => c.failed);
    expect(failures.map((f) => f.id).sort()).toEqual(stray.secrets.map((s) => s.id).sort());
    expect(failures[0]!.reason).toContain(`master key ${strayRing.current} is not in the keyring`);
    for (const s of stray.secrets) expect((await stored(s)).split('.')[1]).toBe(strayRing.current);
  });

  it('does not overwrite a secret that changed between read and write', async () => {
    const { tenantId, secrets } = await seedTenant(oldRing);
    const target = secrets.find((s) => s.table === 'provider_keys')!;
    const replacement = encryptSecret(newOnly, 'sk-rotated-through-the-api', secretContext('provider_keys', 'key', target.id));
    let raced = false;
    const racing: Sql = {
      query: sql.query,
      async execute(text, params) {
        if (!raced && params?.[1] === target.id) {
          raced = true;
          await owner.query('UPDATE provider_keys SET key_enc = $1 WHERE id = $2', [replacement, target.id]);
        }
        return sql.execute(text, params);
      },
    };
    const report = await rotateSecrets(racing, newRing, { tenantIds: [tenantId] });
    expect(raced).toBe(true);
    expect(report.totals).toMatchObject({ rewrapped: 4, changedMeanwhile: 1, failed: 0 });
    expect(await stored(target)).toBe(replacement);
  });
});
