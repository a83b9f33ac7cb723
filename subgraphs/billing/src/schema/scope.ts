import { requireAuthenticated, tenantOf, type SubgraphContext } from '@konstruct/graphql';
import { tenantScope, type TenantScope } from '@konstruct/db';

/** A tenant id no tenant has: under it row-level security hides every tenant row. */
const NO_TENANT = tenantScope('00000000-0000-0000-0000-000000000000');

/**
 * Scope for reading global catalogue tables (plans): the caller's tenant when one is
 * selected, otherwise the empty tenant, so a platform operator without a tenant can still
 * read the catalogue as the unprivileged app role.
 */
export function catalogScope(ctx: SubgraphContext): TenantScope {
  requireAuthenticated(ctx);
  return ctx.identity.tenant ? tenantOf(ctx) : NO_TENANT;
}
