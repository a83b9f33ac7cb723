import { randomUUID } from 'node:crypto';
import { encryptSecret, err, ok, secretContext, secretHint, type MasterKeyring, type Result } from '@konstruct/core';
import type { Prisma, TenantScope, TenantTx } from '@konstruct/db';
import { isUuid } from '../domain/ids.ts';
import type { ProviderKeyInput } from '../domain/provider-key-input.ts';

/**
 * The columns any caller may see. The ciphertext is never selected here, so it cannot reach
 * a resolver by accident.
 */
const PUBLIC_FIELDS = {
  id: true,
  provider: true,
  label: true,
  keyHint: true,
  baseUrl: true,
  createdAt: true,
  rotatedAt: true,
  revokedAt: true,
} as const satisfies Prisma.ProviderKeySelect;

export type ProviderKeyView = Prisma.ProviderKeyGetPayload<{ select: typeof PUBLIC_FIELDS }>;

/** The AAD a provider key is sealed with; whoever decrypts it (the runner) must use the same. */
export const providerKeyContext = (id: string) => secretContext('provider_keys', 'key', id);

export function listProviderKeys(tx: TenantTx, args: { includeRevoked: boolean }): Promise<ProviderKeyView[]> {
  return tx.providerKey.findMany({
    where: args.includeRevoked ? {} : { revokedAt: null },
    select: PUBLIC_FIELDS,
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
  });
}

export async function getProviderKey(tx: TenantTx, id: string): Promise<ProviderKeyView | null> {
  if (!isUuid(id)) return null;
  return tx.providerKey.findUnique({ where: { id }, select: PUBLIC_FIELDS });
}

export function addProviderKey(tx: TenantTx, scope: TenantScope, ring: MasterKeyring, input: ProviderKeyInput): Promise<ProviderKeyView> {
  const id = randomUUID();
  return tx.providerKey.create({
    data: {
      id,
      tenantId: scope.tenantId,
      provider: input.provider,
      label: input.label,
      keyEnc: encryptSecret(ring, input.key, providerKeyContext(id)),
      keyHint: secretHint(input.key),
      baseUrl: input.baseUrl,
    },
    select: PUBLIC_FIELDS,
  });
}

export type RotateProblem = 'not_found' | 'revoked';

/** Replaces the key material of a live key; a revoked key stays revoked. */
export async function rotateProviderKey(
  tx: TenantTx,
  ring: MasterKeyring,
  id: string,
  key: string,
  now = new Date(),
): Promise<Result<ProviderKeyView, RotateProblem>> {
  if (!isUuid(id)) return err('not_found');
  const { count } = await tx.providerKey.updateMany({
    where: { id, revokedAt: null },
    data: { keyEnc: encryptSecret(ring, key, providerKeyContext(id)), keyHint: secretHint(key), rotatedAt: now },
  });
  const row = await getProviderKey(tx, id);
  if (!row) return err('not_found');
  if (count === 0) return err('revoked');
  return ok(row);
}

/**
 * Revokes a key and erases its ciphertext: a revoked key can never be decrypted again, even by
 * a caller that forgets to check `revoked_at`. Revoking twice keeps the first time.
 */
export async function revokeProviderKey(tx: TenantTx, id: string, now = new Date()): Promise<ProviderKeyView | null> {
  if (!isUuid(id)) return null;
  await tx.providerKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: now, keyEnc: '' } });
  return getProviderKey(tx, id);
}
