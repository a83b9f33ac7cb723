import { randomBytes, randomUUID } from 'node:crypto';
import type { GraphQLSchema } from 'graphql';
import { createLogger, identityKey, signIdentity, IDENTITY_HEADER, type Identity } from '@konstruct/core';
import { startSubgraph } from '@konstruct/graphql';
import { appDb } from './db.ts';

export interface GqlResponse<T = any> {
  status: number;
  data?: T;
  errors?: { message: string; extensions?: { code?: string; requestId?: string } }[];
}

/** Identities as the gateway would build them. */
export const as = {
  admin: (tenantId: string): Identity => ({
    actor: { kind: 'operator', id: randomUUID() },
    platformAdmin: false,
    tenant: { id: tenantId, role: 'admin' },
    requestId: randomUUID(),
  }),
  viewer: (tenantId: string): Identity => ({
    actor: { kind: 'operator', id: randomUUID() },
    platformAdmin: false,
    tenant: { id: tenantId, role: 'viewer' },
    requestId: randomUUID(),
  }),
  platform: (tenantId: string | null = null): Identity => ({
    actor: { kind: 'operator', id: randomUUID() },
    platformAdmin: true,
    tenant: tenantId ? { id: tenantId, role: 'admin' } : null,
    requestId: randomUUID(),
  }),
  anonymous: (): Identity => ({ actor: { kind: 'anonymous' }, platformAdmin: false, tenant: null, requestId: randomUUID() }),
};

/**
 * Starts a subgraph in this process against the test database; `call` sends a GraphQL
 * request with an identity signed like the gateway signs it (or none, or a forged one).
 */
export async function startTestSubgraph(service: string, schema: GraphQLSchema, extraContext?: object) {
  const secret = randomBytes(32).toString('hex');
  const db = appDb(5);
  const sub = await startSubgraph({
    service,
    schema,
    port: 0,
    host: '127.0.0.1',
    identitySecret: secret,
    db,
    logger: createLogger(service, 'silent'),
    production: false,
    extraContext,
  });
  async function call<T = any>(
    query: string,
    variables: Record<string, unknown> = {},
    identity: Identity | null,
    opts: { forgeWith?: string } = {},
  ): Promise<GqlResponse<T>> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (identity) headers[IDENTITY_HEADER] = await signIdentity(identityKey(opts.forgeWith ?? secret), identity);
    const res = await fetch(`${sub.url}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    const body = (await res.json()) as Omit<GqlResponse<T>, 'status'>;
    return { status: res.status, ...body };
  }
  return {
    url: sub.url,
    secret,
    db,
    call,
    async close() {
      await sub.close();
      await db.close();
    },
  };
}
