import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signOperatorToken } from '@konstruct/core';
import type { Db } from '@konstruct/db';
import { Authenticator } from './auth.ts';

const secret = 'x'.repeat(40);
// Operator sessions never touch the database.
const noDb = {} as Db;

describe('Authenticator sessions', () => {
  it('keeps a verified session only until the token expires', async () => {
    const auth = new Authenticator(noDb, secret);
    const tenant = randomUUID();
    const { token } = await signOperatorToken(secret, { sub: randomUUID(), pa: false, m: { [tenant]: 'viewer' } }, 1);
    const first = await auth.identify({ authorization: `Bearer ${token}` });
    expect(first.tenant).toEqual({ id: tenant, role: 'viewer' });
    // Served from the cache, with a fresh request id.
    const again = await auth.identify({ authorization: `Bearer ${token}` });
    expect(again.tenant).toEqual(first.tenant);
    expect(again.requestId).not.toBe(first.requestId);
    await new Promise((r) => setTimeout(r, 2_100));
    await expect(auth.identify({ authorization: `Bearer ${token}` })).rejects.toThrow('session expired; log in again');
  });

  it('never caches a token that failed verification', async () => {
    const auth = new Authenticator(noDb, secret);
    const { token } = await signOperatorToken('y'.repeat(40), { sub: randomUUID(), pa: true, m: {} });
    await expect(auth.identify({ authorization: `Bearer ${token}` })).rejects.toThrow('invalid session token');
    await expect(auth.identify({ authorization: `Bearer ${token}` })).rejects.toThrow('invalid session token');
  });
});
