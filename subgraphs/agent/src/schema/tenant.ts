import { forbidden, tenantOf } from '@konstruct/graphql';
import { listAgents } from '../data/agents.ts';
import { builder } from '../builder.ts';
import { pageArgs } from './page-args.ts';
import { AgentPage } from './refs.ts';

/** Tenant is owned by the tenancy subgraph; this subgraph adds its agents. */
builder.externalRef('Tenant', builder.selection<{ id: string }>('id')).implement({
  externalFields: (t) => ({ id: t.id() }),
  fields: (t) => ({
    agents: t.field({
      type: AgentPage,
      description: "The tenant's agents, newest first. Only for the tenant the request acts on.",
      args: pageArgs,
      resolve: (tenant, args, ctx) => {
        const scope = tenantOf(ctx);
        // Row-level security would confine the list to the request's tenant anyway; refusing a
        // different parent keeps another tenant from looking empty instead of inaccessible.
        if (tenant.id.toLowerCase() !== scope.tenantId) throw forbidden("only the request's own tenant's agents can be listed");
        return listAgents(ctx.db, scope, args);
      },
    }),
  }),
});
