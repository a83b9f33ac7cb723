import { DEFAULT_BRIDGE_PUBLIC_URL, isUuid, signInstallTicket } from '@konstruct/core';
import { byTypename, forbidden, notFound, tenantForWrite, validationError } from '@konstruct/graphql';
import { tenantScope, type TenantScope } from '@konstruct/db';
import { builder, NotFound, ValidationError } from '../builder.ts';

const SlackInstallLink = builder.objectRef<{ url: string; expiresAt: Date }>('SlackInstallLink').implement({
  description:
    'A link that installs the platform Slack app into a workspace and connects it to the tenant. Open it in a browser signed in to Slack within ten minutes of creating it.',
  fields: (t) => ({
    url: t.exposeString('url'),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
  }),
});

const SlackInstallLinkResult = builder.unionType('SlackInstallLinkResult', {
  types: [SlackInstallLink, ValidationError, NotFound],
  resolveType: byTypename('SlackInstallLink'),
});

builder.mutationFields((t) => ({
  createSlackInstallLink: t.field({
    type: SlackInstallLinkResult,
    description:
      'Tenant admins: a short-lived install link for a Slack workspace. The connection is attached to `agentId` when given (an employee of this tenant).',
    args: { tenantId: t.arg.id({ required: true }), agentId: t.arg.id({ required: false }) },
    resolve: async (_r, args, ctx) => {
      const tenantId = String(args.tenantId);
      let scope: TenantScope;
      if (ctx.identity.platformAdmin && ctx.identity.tenant?.id !== tenantId) {
        // Platform operators may create links for any tenant that exists.
        if (!isUuid(tenantId)) return notFound('tenant', tenantId);
        scope = tenantScope(tenantId);
        const exists = await ctx.db.withPlatform((tx) => tx.tenant.findUnique({ where: { id: scope.tenantId }, select: { id: true } }));
        if (!exists) return notFound('tenant', tenantId);
      } else {
        scope = tenantForWrite(ctx);
        if (tenantId.toLowerCase() !== scope.tenantId) throw forbidden('install links can only be created for the tenant this request acts on');
      }
      const agentId = args.agentId == null ? null : String(args.agentId);
      if (agentId !== null) {
        // Foreign keys ignore row-level security; the agent must be visible inside this tenant.
        const visible = isUuid(agentId) && (await ctx.db.withTenant(scope, (tx) => tx.agent.findUnique({ where: { id: agentId }, select: { id: true } })));
        if (!visible) return validationError('agentId does not name an agent of this tenant', 'agentId');
      }
      const operatorId = ctx.identity.actor.kind === 'operator' ? ctx.identity.actor.id : null;
      const { ticket, expiresAt } = signInstallTicket(ctx.keyring, { channel: 'slack', tenantId: scope.tenantId, agentId, operatorId });
      const base = (ctx.bridgePublicUrl ?? DEFAULT_BRIDGE_PUBLIC_URL).replace(/\/+$/, '');
      ctx.logger.info({ tenantId: scope.tenantId, agentId, expiresAt }, 'slack install link created');
      return { url: `${base}/slack/install?ticket=${encodeURIComponent(ticket)}`, expiresAt };
    },
  }),
}));
