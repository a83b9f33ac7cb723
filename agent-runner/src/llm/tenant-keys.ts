import { decryptSecret, secretContext, type Logger, type MasterKeyring } from '@konstruct/core';
import { tenantScope, type Db } from '@konstruct/db';
import type { ProviderName } from './types.ts';

/** A tenant's own provider key, decrypted. Lives only in this process's memory. */
export interface TenantKey {
  /** The provider_keys row id, for audit and cooldown (never the key itself). */
  keyId: string;
  provider: ProviderName;
  apiKey: string;
  /** The tenant's own API base, or null for the platform's. */
  baseUrl: string | null;
}

export interface TenantKeySource {
  /** The tenant's active key for the provider, or null when it has none (use the platform's). */
  resolve(tenantId: string, provider: ProviderName): Promise<TenantKey | null>;
  /** Forget what is cached, e.g. after the provider refused the key. */
  invalidate(tenantId: string, provider?: ProviderName): void;
}

export interface TenantKeyResolverOptions {
  db: Db;
  keyring: MasterKeyring;
  /**
   * How long a looked-up key (or the absence of one) is reused. A key added, rotated or
   * revoked through the API is picked up within this time; a 401 drops the entry at once.
   */
  ttlMs?: number;
  logger?: Logger;
  now?: () => number;
}

/** The AAD the billing subgraph seals provider keys with (subgraphs/billing/src/data/provider-keys.ts). */
export const providerKeyContext = (id: string) => secretContext('provider_keys', 'key', id);

/**
 * Loads a tenant's newest non-revoked key for a provider under the tenant's own RLS scope,
 * decrypts it with the master keyring, and caches the answer briefly so a busy tenant does
 * not cost a query and a decryption per LLM call. Concurrent misses share one query.
 */
export function createTenantKeyResolver(opts: TenantKeyResolverOptions): TenantKeySource {
  const ttlMs = opts.ttlMs ?? 60_000;
  const now = opts.now ?? Date.now;
  const log = opts.logger?.child({ source: 'tenant-keys' });
  const cache = new Map<string, { expires: number; value: Promise<TenantKey | null> }>();

  async function load(tenantId: string, provider: ProviderName): Promise<TenantKey | null> {
    const row = await opts.db.withTenant(tenantScope(tenantId), (tx) =>
      tx.providerKey.findFirst({
        // Revoking erases the ciphertext; the empty check guards rows revoked some other way.
        where: { provider, revokedAt: null, NOT: { keyEnc: '' } },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        select: { id: true, keyEnc: true, baseUrl: true },
      }),
    );
    if (!row) return null;
    try {
      return { keyId: row.id, provider, apiKey: decryptSecret(opts.keyring, row.keyEnc, providerKeyContext(row.id)), baseUrl: row.baseUrl };
    } catch (e) {
      // A key sealed under a master key this process lacks: the platform key still serves.
      log?.error({ tenantId, provider, keyId: row.id, reason: (e as Error).message }, 'cannot decrypt tenant provider key; using the platform key');
      return null;
    }
  }

  function prune(at: number) {
    if (cache.size < 10_000) return;
    for (const [k, v] of cache) if (v.expires <= at) cache.delete(k);
  }

  return {
    resolve(tenantId, provider) {
      const key = `${tenantId}:${provider}`;
      const at = now();
      const hit = cache.get(key);
      if (hit && hit.expires > at) return hit.value;
      prune(at);
      const value = load(tenantId, provider);
      cache.set(key, { expires: at + ttlMs, value });
      // A failed look-up is not remembered; the next call asks the database again.
      value.catch(() => {
        if (cache.get(key)?.value === value) cache.delete(key);
      });
      return value;
    },
    invalidate(tenantId, provider) {
      if (provider) cache.delete(`${tenantId}:${provider}`);
      else for (const k of [...cache.keys()]) if (k.startsWith(`${tenantId}:`)) cache.delete(k);
    },
  };
}
