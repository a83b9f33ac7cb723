import { GraphQLError } from 'graphql';
import type { Identity, Logger } from '@konstruct/core';
import { tenantScope, type Db, type TenantScope } from '@konstruct/db';

export interface SubgraphContext {
  identity: Identity;
  requestId: string;
  db: Db;
  logger: Logger;
}

export function unauthenticated(message = 'authentication required'): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
}

export function forbidden(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'FORBIDDEN' } });
}

export function requireAuthenticated(ctx: SubgraphContext): void {
  if (ctx.identity.actor.kind === 'anonymous') throw unauthenticated();
}

/** The tenant the request acts on; every tenant-data resolver starts here. */
export function tenantOf(ctx: SubgraphContext): TenantScope {
  requireAuthenticated(ctx);
  if (!ctx.identity.tenant) throw forbidden('no tenant selected for this request (send x-konstruct-tenant)');
  return tenantScope(ctx.identity.tenant.id);
}

/** The tenant, for a change: viewers and read-only keys may not write. */
export function tenantForWrite(ctx: SubgraphContext): TenantScope {
  const scope = tenantOf(ctx);
  if (ctx.identity.tenant?.role !== 'admin' && !ctx.identity.platformAdmin) throw forbidden('this action needs the admin role');
  return scope;
}

export function requirePlatformAdmin(ctx: SubgraphContext): void {
  requireAuthenticated(ctx);
  if (!ctx.identity.platformAdmin) throw forbidden('this action needs a platform operator');
}
