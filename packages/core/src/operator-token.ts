import { SignJWT, jwtVerify } from 'jose';
import { z } from 'zod';

/**
 * The operator's session token (portal login): who, whether a platform operator, and the
 * role in each tenant. Short-lived, so a changed membership takes effect within its lifetime.
 */
export const OperatorClaims = z.object({
  sub: z.string().uuid(),
  pa: z.boolean(),
  m: z.record(z.string().uuid(), z.enum(['admin', 'viewer'])),
});
export type OperatorClaims = z.infer<typeof OperatorClaims>;

const ISSUER = 'konstruct';
const AUDIENCE = 'konstruct-api';
export const OPERATOR_TOKEN_TTL_SECONDS = 15 * 60;

export async function signOperatorToken(secret: string, claims: OperatorClaims, ttlSeconds = OPERATOR_TOKEN_TTL_SECONDS) {
  const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
  const token = await new SignJWT({ pa: claims.pa, m: claims.m })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(new TextEncoder().encode(secret));
  return { token, expiresAt };
}

/** Throws on a forged, expired or malformed token. */
export async function verifyOperatorToken(secret: string, token: string): Promise<OperatorClaims> {
  const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), {
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: ['HS256'],
  });
  return OperatorClaims.parse(payload);
}
