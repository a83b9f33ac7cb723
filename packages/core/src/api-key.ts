import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Partner API keys: `kst_<prefix>_<secret>`. The prefix is stored in clear to find the key;
 * only a SHA-256 of the secret is stored (the secret is 32 random bytes, so a slow hash adds
 * nothing). The whole key is shown once, at creation.
 */
export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const prefix = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { key: `kst_${prefix}_${secret}`, prefix, hash: hashApiKeySecret(secret) };
}

export function hashApiKeySecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function parseApiKey(key: string): { prefix: string; secret: string } | null {
  const m = /^kst_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/.exec(key);
  return m ? { prefix: m[1]!, secret: m[2]! } : null;
}

export function apiKeyMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashApiKeySecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
