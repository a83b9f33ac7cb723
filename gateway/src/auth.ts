import { isUuid } from '@konstruct/core';
import { randomUUID } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { decodeJwt } from 'jose';
import { apiKeyMatches, parseApiKey, verifyOperatorToken, type Identity, type OperatorClaims } from '@konstruct/core';
import { tenantScope, type Db } from '@konstruct/db';

export function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
}


/**
 * Turns request headers into an Identity: an operator's session token (with the tenant named
 * in `x-konstruct-tenant`, which must be one of theirs), a partner API key (bound to its
 * tenant), or anonymous. A credential that is present but not valid is refused, never
 * downgraded to anonymous.
 */
export class Authenticator {
  private lastUsedWritten = new Map<string, number>();
  /**
   * Verified session tokens until they expire: a token cannot change, and verifying the same
   * one on every request of a session is most of authentication's cost.
   */
  private verified = new Map<string, { claims: OperatorClaims; expiresAt: number }>();

  constructor(
    private readonly db: Db,
    private readonly jwtSecret: string,
  ) {}

  async identify(headers: Record<string, string | string[] | undefined>): Promise<Identity> {
    const requestId = randomUUID();
    const header = (name: string) => {
      const v = headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const apiKey = header('x-api-key') ?? (header('authorization')?.startsWith('Bearer kst_') ? header('authorization')!.slice(7) : undefined);
    if (apiKey) return this.fromApiKey(apiKey.trim(), requestId);

    const auth = header('authorization');
    if (!auth) return { actor: { kind: 'anonymous' }, platformAdmin: false, tenant: null, requestId };
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    if (!m) throw unauthenticated('Authorization must be "Bearer <token>"');
    const claims = await this.verifySession(m[1]!);
    const wanted = header('x-konstruct-tenant');
    const memberships = Object.entries(claims.m);
    let tenant: Identity['tenant'] = null;
    if (wanted) {
      if (!isUuid(wanted)) throw new GraphQLError('x-konstruct-tenant must be a tenant id', { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });
      const role = claims.m[wanted.toLowerCase()];
      if (role) tenant = { id: wanted.toLowerCase(), role };
      else if (claims.pa) tenant = { id: wanted.toLowerCase(), role: 'admin' };
      else throw new GraphQLError('you are not a member of that tenant', { extensions: { code: 'FORBIDDEN', http: { status: 403 } } });
    } else if (memberships.length === 1) {
      const [id, role] = memberships[0]!;
      tenant = { id, role };
    }
    return { actor: { kind: 'operator', id: claims.sub }, platformAdmin: claims.pa, tenant, requestId };
  }

  private async verifySession(token: string): Promise<OperatorClaims> {
    const hit = this.verified.get(token);
    if (hit && hit.expiresAt > Date.now()) return hit.claims;
    if (hit) this.verified.delete(token);
    let claims: OperatorClaims;
    try {
      claims = await verifyOperatorToken(this.jwtSecret, token);
    } catch (e) {
      throw unauthenticated((e as { code?: string }).code === 'ERR_JWT_EXPIRED' ? 'session expired; log in again' : 'invalid session token');
    }
    const exp = decodeJwt(token).exp;
    if (exp) {
      if (this.verified.size >= 10_000) this.verified.clear();
      this.verified.set(token, { claims, expiresAt: exp * 1000 });
    }
    return claims;
  }

  private async fromApiKey(key: string, requestId: string): Promise<Identity> {
    const parsed = parseApiKey(key);
    if (!parsed) throw unauthenticated('invalid API key');
    const row = await this.db.withRouting((tx) =>
      tx.apiKey.findUnique({ where: { prefix: parsed.prefix }, select: { id: true, tenantId: true, keyHash: true, scopes: true, revokedAt: true } }),
    );
    if (!row || !apiKeyMatches(parsed.secret, row.keyHash)) throw unauthenticated('invalid API key');
    if (row.revokedAt) throw unauthenticated('this API key has been revoked');
    this.touch(row.id, row.tenantId);
    return {
      actor: { kind: 'api_key', id: row.id },
      platformAdmin: false,
      tenant: { id: row.tenantId, role: row.scopes.includes('write') ? 'admin' : 'viewer' },
      requestId,
    };
  }

  /** Records last use at most once a minute per key, off the request path. */
  private touch(id: string, tenantId: string) {
    const now = Date.now();
    if ((this.lastUsedWritten.get(id) ?? 0) > now - 60_000) return;
    this.lastUsedWritten.set(id, now);
    void this.db
      .withTenant(tenantScope(tenantId), (tx) => tx.apiKey.update({ where: { id }, data: { lastUsedAt: new Date(now) } }))
      .catch(() => this.lastUsedWritten.delete(id));
  }
}
