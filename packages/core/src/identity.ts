import { createSecretKey, type KeyObject } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import { z } from 'zod';

/**
 * Who is calling, as the gateway established it. The gateway authenticates (operator JWT or
 * partner API key), picks the tenant the request acts on, and forwards this object signed;
 * subgraphs trust nothing else, so calling a subgraph directly gets nothing.
 */
export const Identity = z.object({
  actor: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('anonymous') }),
    z.object({ kind: z.literal('operator'), id: z.string().uuid() }),
    z.object({ kind: z.literal('api_key'), id: z.string().uuid() }),
  ]),
  platformAdmin: z.boolean(),
  /** The tenant this request acts on and the caller's role there; null when none applies. */
  tenant: z.object({ id: z.string().uuid(), role: z.enum(['admin', 'viewer']) }).nullable(),
  requestId: z.string().min(1).max(128),
});
export type Identity = z.infer<typeof Identity>;

export const IDENTITY_HEADER = 'x-konstruct-identity';
const ISSUER = 'konstruct-gateway';
const AUDIENCE = 'konstruct-subgraph';

/** A key object, so the HMAC key is not imported again on every sign and verify. */
export function identityKey(secret: string): KeyObject {
  return createSecretKey(Buffer.from(secret, 'utf8'));
}

/** Short-lived: one request's worth. */
export async function signIdentity(key: KeyObject, identity: Identity, ttlSeconds = 60): Promise<string> {
  return new SignJWT({ idt: identity })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(key);
}

export async function verifyIdentity(key: KeyObject, token: string): Promise<Identity> {
  const { payload } = await jwtVerify(token, key, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] });
  return Identity.parse(payload.idt);
}
