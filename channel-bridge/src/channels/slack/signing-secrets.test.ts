import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createLogger, encryptSecret, keyringFrom, secretContext } from '@konstruct/core';
import type { Db } from '@konstruct/db';
import { SlackSigningSecrets, verifySlackSignature } from './signing-secrets.ts';

const ring = keyringFrom(randomBytes(32).toString('base64'));
const logger = createLogger('test', 'silent');

type Row = { id: string; signingSecretEnc: string | null };
const row = (secret: string, id = randomUUID()): Row => ({
  id,
  signingSecretEnc: encryptSecret(ring, secret, secretContext('channel_connections', 'signing_secret', id)),
});

/** Only the routing read the class makes; counts calls and records the filter. */
function routingDb(rows: Row[]) {
  const calls: unknown[] = [];
  const db = {
    withRouting: async <T>(fn: (tx: unknown) => Promise<T>) =>
      fn({
        channelConnection: {
          findMany: async (args: unknown) => {
            calls.push(args);
            return rows;
          },
        },
      }),
  } as unknown as Db;
  return { db, calls };
}

function sign(secret: string, body: string, ts = Math.floor(Date.now() / 1000)) {
  return { raw: body, timestamp: ts, signature: `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}` };
}

describe('SlackSigningSecrets', () => {
  it('reads an app’s secrets once, groups connections sharing a secret, and caches them', async () => {
    const a1 = row('secret-of-app-a');
    const a2 = row('secret-of-app-a');
    const other = row('another-secret');
    const { db, calls } = routingDb([a1, a2, other]);
    const secrets = new SlackSigningSecrets(db, ring, logger);
    const first = await secrets.forApp('A0APPONE');
    expect(first.map((s) => [s.secret, [...s.connectionIds].sort()])).toEqual([
      ['secret-of-app-a', [a1.id, a2.id].sort()],
      ['another-secret', [other.id]],
    ]);
    await secrets.forApp('A0APPONE');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ where: { kind: 'slack', appId: 'A0APPONE', status: 'active', signingSecretEnc: { not: null } } });
    secrets.forget('A0APPONE');
    await secrets.forApp('A0APPONE');
    expect(calls).toHaveLength(2);
  });

  it('expires cached secrets', async () => {
    const { db, calls } = routingDb([row('s3cret-s3cret')]);
    const secrets = new SlackSigningSecrets(db, ring, logger, 0);
    await secrets.forApp('A0APPONE');
    await secrets.forApp('A0APPONE');
    expect(calls).toHaveLength(2);
  });

  it('skips a secret that does not decrypt (e.g. copied from another row) instead of failing the request', async () => {
    const good = row('good-secret');
    const copied = { id: randomUUID(), signingSecretEnc: good.signingSecretEnc };
    const { db } = routingDb([copied, good]);
    const found = await new SlackSigningSecrets(db, ring, logger).forApp('A0APPONE');
    expect(found.map((s) => [...s.connectionIds])).toEqual([[good.id]]);
  });

  it.each(['', 'a0lower', 'T0TEAMID', 'A', `A${'B'.repeat(40)}`, "A0'; DROP"])('does not look up %j', async (appId) => {
    const { db, calls } = routingDb([row('x-secret-x')]);
    expect(await new SlackSigningSecrets(db, ring, logger).forApp(appId)).toEqual([]);
    expect(calls).toHaveLength(0);
  });
});

describe('verifySlackSignature', () => {
  const platform = 'platform-signing-secret';
  const body = '{"type":"event_callback","api_app_id":"A0BYOAPP"}';

  it('names the tenant app and its connections when its secret verifies', async () => {
    const byo = row('tenant-app-secret');
    const secrets = new SlackSigningSecrets(routingDb([byo]).db, ring, logger);
    const v = await verifySlackSignature(secrets, platform, { ...sign('tenant-app-secret', body), appId: 'A0BYOAPP' });
    expect(v).toEqual({ source: 'byo', appId: 'A0BYOAPP', connectionIds: new Set([byo.id]) });
  });

  it('falls back to the platform secret, which vouches only for platform connections', async () => {
    const secrets = new SlackSigningSecrets(routingDb([row('tenant-app-secret')]).db, ring, logger);
    expect(await verifySlackSignature(secrets, platform, { ...sign(platform, body), appId: 'A0BYOAPP' })).toEqual({ source: 'platform' });
    expect(await verifySlackSignature(secrets, platform, { ...sign(platform, body), appId: undefined })).toEqual({ source: 'platform' });
  });

  it('refuses a wrong secret, a changed body and a stale timestamp', async () => {
    const secrets = new SlackSigningSecrets(routingDb([row('tenant-app-secret')]).db, ring, logger);
    expect(await verifySlackSignature(secrets, platform, { ...sign('guessed-secret', body), appId: 'A0BYOAPP' })).toBeNull();
    const signed = sign('tenant-app-secret', body);
    expect(await verifySlackSignature(secrets, platform, { ...signed, raw: body.replace('A0BYOAPP', 'A0OTHER1'), appId: 'A0BYOAPP' })).toBeNull();
    const stale = sign('tenant-app-secret', body, Math.floor(Date.now() / 1000) - 6 * 60);
    expect(await verifySlackSignature(secrets, platform, { ...stale, appId: 'A0BYOAPP' })).toBeNull();
  });
});
