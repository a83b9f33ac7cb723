import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Envelope encryption for secrets at rest (bot tokens, provider keys): each secret gets its
 * own random data key; the data key is wrapped with the master key. Both layers are
 * AES-256-GCM. The stored string names the master key by id so keys can be rotated:
 * `kv1.<keyId>.<wrapIv>.<wrappedKey>.<wrapTag>.<iv>.<ciphertext>.<tag>` (base64url parts).
 */
export interface MasterKeyring {
  /** Key id used for new encryptions. */
  current: string;
  keys: Map<string, Buffer>;
}

export function masterKeyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 8);
}

/** Builds a keyring from the current key plus older keys still needed for decryption. */
export function keyringFrom(currentBase64: string, previousBase64: string[] = []): MasterKeyring {
  const keys = new Map<string, Buffer>();
  const add = (b64: string) => {
    const key = Buffer.from(b64, 'base64');
    if (key.length !== 32) throw new Error('master key must be 32 bytes (base64)');
    const id = masterKeyId(key);
    keys.set(id, key);
    return id;
  };
  const current = add(currentBase64);
  for (const prev of previousBase64) add(prev);
  return { current, keys };
}

function seal(key: Buffer, plaintext: Buffer, aad: Buffer): [Buffer, Buffer, Buffer] {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return [iv, ct, cipher.getAuthTag()];
}

function open(key: Buffer, iv: Buffer, ct: Buffer, tag: Buffer, aad: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(ct), decipher.final()]);
}

const b64 = (b: Buffer) => b.toString('base64url');
const unb64 = (s: string) => Buffer.from(s, 'base64url');

/**
 * `context` is bound into the ciphertext (AAD) — e.g. `channel_connections.bot_token:<id>` —
 * so a ciphertext copied into another row or column does not decrypt.
 */
export function encryptSecret(ring: MasterKeyring, plaintext: string, context: string): string {
  const master = ring.keys.get(ring.current);
  if (!master) throw new Error('current master key missing from keyring');
  const aad = Buffer.from(context);
  const dataKey = randomBytes(32);
  const [wIv, wrapped, wTag] = seal(master, dataKey, Buffer.from(`dk:${ring.current}`));
  const [iv, ct, tag] = seal(dataKey, Buffer.from(plaintext, 'utf8'), aad);
  dataKey.fill(0);
  return ['kv1', ring.current, b64(wIv), b64(wrapped), b64(wTag), b64(iv), b64(ct), b64(tag)].join('.');
}

export function decryptSecret(ring: MasterKeyring, sealed: string, context: string): string {
  const parts = sealed.split('.');
  if (parts.length !== 8 || parts[0] !== 'kv1') throw new Error('not an encrypted secret');
  const [, keyId, wIv, wrapped, wTag, iv, ct, tag] = parts as [string, string, string, string, string, string, string, string];
  const master = ring.keys.get(keyId);
  if (!master) throw new Error(`master key ${keyId} is not in the keyring`);
  const dataKey = open(master, unb64(wIv), unb64(wrapped), unb64(wTag), Buffer.from(`dk:${keyId}`));
  try {
    return open(dataKey, unb64(iv), unb64(ct), unb64(tag), Buffer.from(context)).toString('utf8');
  } finally {
    dataKey.fill(0);
  }
}

/** Re-wraps the data key under the current master key without touching the ciphertext. */
export function rewrapSecret(ring: MasterKeyring, sealed: string): string {
  const parts = sealed.split('.');
  if (parts.length !== 8 || parts[0] !== 'kv1') throw new Error('not an encrypted secret');
  const [, keyId, wIv, wrapped, wTag, iv, ct, tag] = parts as [string, string, string, string, string, string, string, string];
  if (keyId === ring.current) return sealed;
  const old = ring.keys.get(keyId);
  const current = ring.keys.get(ring.current);
  if (!old || !current) throw new Error(`master key ${keyId} is not in the keyring`);
  const dataKey = open(old, unb64(wIv), unb64(wrapped), unb64(wTag), Buffer.from(`dk:${keyId}`));
  const [nIv, nWrapped, nTag] = seal(current, dataKey, Buffer.from(`dk:${ring.current}`));
  dataKey.fill(0);
  return ['kv1', ring.current, b64(nIv), b64(nWrapped), b64(nTag), iv, ct, tag].join('.');
}

/** Last four characters, for showing that a secret is set; short secrets are not hinted at all. */
export function secretHint(plaintext: string): string {
  return plaintext.length < 12 ? '****' : plaintext.slice(-4);
}

/** The AAD binding a secret to its row and column, so it cannot be replayed elsewhere. */
export function secretContext(table: string, column: string, rowId: string): string {
  return `${table}.${column}:${rowId}`;
}
