import { randomBytes } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import {
  decryptSecret,
  encryptSecret,
  keyringFrom,
  masterKeyId,
  rewrapSecret,
  secretContext,
  secretHint,
  type MasterKeyring,
} from './crypto.ts';

const keyA = randomBytes(32);
const keyB = randomBytes(32);
const ringA = keyringFrom(keyA.toString('base64'));
const ctx = secretContext('channel_connections', 'bot_token', '7d4a0c2e-0000-4000-8000-000000000001');
const secret = 'xoxb-test-not-a-real-token-AbCdEfGhIjKlMnOpQrStUvWx';

/** Flips one bit of one byte of a base64url part, so the decoded bytes really differ. */
function flipPart(sealed: string, index: number): string {
  const parts = sealed.split('.');
  const part = parts[index]!;
  if (index === 0) {
    parts[0] = part === 'kv1' ? 'kv2' : 'kv1';
  } else if (index === 1) {
    // Key id: a different, well-formed id.
    parts[1] = part.startsWith('A') ? `B${part.slice(1)}` : `A${part.slice(1)}`;
  } else {
    const bytes = Buffer.from(part, 'base64url');
    expect(bytes.length).toBeGreaterThan(0);
    bytes[0] = bytes[0]! ^ 0x01;
    parts[index] = bytes.toString('base64url');
  }
  const out = parts.join('.');
  expect(out).not.toBe(sealed);
  return out;
}

describe('encryptSecret / decryptSecret', () => {
  it('round-trips a secret', () => {
    const sealed = encryptSecret(ringA, secret, ctx);
    expect(decryptSecret(ringA, sealed, ctx)).toBe(secret);
  });

  it('round-trips unicode and the empty string', () => {
    const text = 'pässwörd — 秘密 🔑';
    expect(decryptSecret(ringA, encryptSecret(ringA, text, ctx), ctx)).toBe(text);
    expect(decryptSecret(ringA, encryptSecret(ringA, '', ctx), ctx)).toBe('');
  });

  it('has the documented 8-part kv1 format naming the current key id', () => {
    const parts = encryptSecret(ringA, secret, ctx).split('.');
    expect(parts).toHaveLength(8);
    expect(parts[0]).toBe('kv1');
    expect(parts[1]).toBe(masterKeyId(keyA));
    expect(Buffer.from(parts[2]!, 'base64url')).toHaveLength(12); // wrap IV
    expect(Buffer.from(parts[3]!, 'base64url')).toHaveLength(32); // wrapped data key
    expect(Buffer.from(parts[4]!, 'base64url')).toHaveLength(16); // wrap tag
    expect(Buffer.from(parts[5]!, 'base64url')).toHaveLength(12); // IV
    expect(Buffer.from(parts[6]!, 'base64url')).toHaveLength(Buffer.byteLength(secret)); // ciphertext
    expect(Buffer.from(parts[7]!, 'base64url')).toHaveLength(16); // tag
  });

  it('two encryptions of the same plaintext differ (fresh data key and IVs)', () => {
    const a = encryptSecret(ringA, secret, ctx).split('.');
    const b = encryptSecret(ringA, secret, ctx).split('.');
    expect(a.join('.')).not.toBe(b.join('.'));
    // Every random part differs: wrap IV, wrapped data key, IV, ciphertext, both tags.
    for (const i of [2, 3, 4, 5, 6, 7]) expect(a[i]).not.toBe(b[i]);
  });

  it('does not contain the plaintext in raw, base64, base64url or hex form', () => {
    const sealed = encryptSecret(ringA, secret, ctx);
    const raw = Buffer.from(secret, 'utf8');
    for (const form of [secret, raw.toString('base64'), raw.toString('base64url'), raw.toString('hex')]) {
      expect(sealed).not.toContain(form);
      // Also not a recognisable chunk of it.
      expect(sealed).not.toContain(form.slice(0, 12));
    }
    expect(sealed.toLowerCase()).not.toContain(raw.toString('hex').slice(0, 16));
  });

  it('a ciphertext bound to one context does not decrypt under another (AAD)', () => {
    const sealed = encryptSecret(ringA, secret, ctx);
    const other = secretContext('channel_connections', 'bot_token', '7d4a0c2e-0000-4000-8000-000000000002');
    expect(() => decryptSecret(ringA, sealed, other)).toThrow();
    expect(() => decryptSecret(ringA, sealed, secretContext('provider_keys', 'api_key', '7d4a0c2e-0000-4000-8000-000000000001'))).toThrow();
    expect(() => decryptSecret(ringA, sealed, '')).toThrow();
  });

  it.each([0, 1, 2, 3, 4, 5, 6, 7])('flipping part %i makes decryption throw', (index) => {
    const sealed = encryptSecret(ringA, secret, ctx);
    const tampered = flipPart(sealed, index);
    expect(() => decryptSecret(ringA, tampered, ctx)).toThrow();
  });

  it('rejects strings that are not an encrypted secret', () => {
    expect(() => decryptSecret(ringA, secret, ctx)).toThrow(/not an encrypted secret/);
    const sealed = encryptSecret(ringA, secret, ctx);
    expect(() => decryptSecret(ringA, `${sealed}.extra`, ctx)).toThrow(/not an encrypted secret/);
    expect(() => decryptSecret(ringA, sealed.split('.').slice(0, 7).join('.'), ctx)).toThrow(/not an encrypted secret/);
  });

  it('a wrong master key (same key id, different bytes) throws', () => {
    const sealed = encryptSecret(ringA, secret, ctx);
    const impostor: MasterKeyring = { current: ringA.current, keys: new Map([[ringA.current, keyB]]) };
    expect(() => decryptSecret(impostor, sealed, ctx)).toThrow();
  });

  it('a keyring holding only another master key throws', () => {
    const sealed = encryptSecret(ringA, secret, ctx);
    const ringB = keyringFrom(keyB.toString('base64'));
    expect(() => decryptSecret(ringB, sealed, ctx)).toThrow();
  });

  it('decrypting under an unknown key id names the key id', () => {
    const sealed = encryptSecret(ringA, secret, ctx);
    const ringB = keyringFrom(keyB.toString('base64'));
    const idA = masterKeyId(keyA);
    expect(() => decryptSecret(ringB, sealed, ctx)).toThrow(new RegExp(`master key ${idA} is not in the keyring`));
  });

  it('encrypt fails when the current key is missing from the keyring', () => {
    const broken: MasterKeyring = { current: 'nope', keys: new Map([[masterKeyId(keyA), keyA]]) };
    expect(() => encryptSecret(broken, secret, ctx)).toThrow(/current master key missing/);
  });
});

describe('key rotation (rewrapSecret)', () => {
  it('re-wraps under the current key; the result decrypts with a keyring holding only the new key', () => {
    const idA = masterKeyId(keyA);
    const idB = masterKeyId(keyB);
    expect(idA).not.toBe(idB);

    const sealed = encryptSecret(ringA, secret, ctx);
    expect(sealed.split('.')[1]).toBe(idA);

    const rotating = keyringFrom(keyB.toString('base64'), [keyA.toString('base64')]);
    expect(rotating.current).toBe(idB);
    // During rotation the old ciphertext still decrypts.
    expect(decryptSecret(rotating, sealed, ctx)).toBe(secret);

    const rewrapped = rewrapSecret(rotating, sealed);
    const before = sealed.split('.');
    const after = rewrapped.split('.');
    expect(after[1]).toBe(idB);
    // The data ciphertext (iv, ct, tag) is untouched; the wrapping is new.
    expect(after.slice(5)).toEqual(before.slice(5));
    expect(after.slice(2, 5)).not.toEqual(before.slice(2, 5));

    const onlyB = keyringFrom(keyB.toString('base64'));
    expect(decryptSecret(onlyB, rewrapped, ctx)).toBe(secret);
    // The AAD binding survives the re-wrap.
    expect(() => decryptSecret(onlyB, rewrapped, 'other:context')).toThrow();
    // And the old key alone can no longer open it.
    expect(() => decryptSecret(ringA, rewrapped, ctx)).toThrow(new RegExp(`master key ${idB} is not in the keyring`));
  });

  it('returns a secret already under the current key unchanged', () => {
    const sealed = encryptSecret(ringA, secret, ctx);
    expect(rewrapSecret(ringA, sealed)).toBe(sealed);
  });

  it('throws naming the key id when the old key is not in the keyring', () => {
    const sealed = encryptSecret(ringA, secret, ctx);
    const onlyB = keyringFrom(keyB.toString('base64'));
    expect(() => rewrapSecret(onlyB, sealed)).toThrow(new RegExp(`master key ${masterKeyId(keyA)} is not in the keyring`));
  });

  it('rejects a non-secret', () => {
    expect(() => rewrapSecret(ringA, 'plain text')).toThrow(/not an encrypted secret/);
  });
});

describe('keyringFrom', () => {
  it('builds a keyring with the current key id and all previous keys', () => {
    const ring = keyringFrom(keyB.toString('base64'), [keyA.toString('base64')]);
    expect(ring.current).toBe(masterKeyId(keyB));
    expect([...ring.keys.keys()].sort()).toEqual([masterKeyId(keyA), masterKeyId(keyB)].sort());
    expect(ring.keys.get(masterKeyId(keyA))!.equals(keyA)).toBe(true);
  });

  it.each([
    ['16 bytes', randomBytes(16).toString('base64')],
    ['31 bytes', randomBytes(31).toString('base64')],
    ['33 bytes', randomBytes(33).toString('base64')],
    ['64 bytes', randomBytes(64).toString('base64')],
    ['empty', ''],
  ])('rejects a current key of %s', (_label, b64) => {
    expect(() => keyringFrom(b64)).toThrow(/32 bytes/);
  });

  it('rejects a previous key that is not 32 bytes', () => {
    expect(() => keyringFrom(keyA.toString('base64'), [randomBytes(16).toString('base64')])).toThrow(/32 bytes/);
  });

  it('masterKeyId is deterministic, 8 chars, and differs between keys', () => {
    expect(masterKeyId(keyA)).toBe(masterKeyId(Buffer.from(keyA)));
    expect(masterKeyId(keyA)).toMatch(/^[A-Za-z0-9_-]{8}$/);
    expect(masterKeyId(keyA)).not.toBe(masterKeyId(keyB));
  });
});

describe('secretHint', () => {
  it('shows the last four characters of a secret of 12 characters or more', () => {
    expect(secretHint('xoxb-abcdef-WXYZ')).toBe('WXYZ');
    expect(secretHint('123456789012')).toBe('9012');
  });

  it('masks short secrets entirely, so a hint never reveals most of one', () => {
    expect(secretHint('12345678901')).toBe('****');
    expect(secretHint('12345')).toBe('****');
    expect(secretHint('abcd')).toBe('****');
    expect(secretHint('ab')).toBe('****');
    expect(secretHint('')).toBe('****');
  });
});

describe('secretContext', () => {
  it('formats table.column:rowId', () => {
    expect(secretContext('channel_connections', 'bot_token', 'r1')).toBe('channel_connections.bot_token:r1');
  });
});
