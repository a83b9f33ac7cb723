import { isUuid, KonstructError, type RateLimitCounterSnapshot, type RateLimitCounts } from '@konstruct/core';
import { forbidden, tenantOf, type SubgraphContext } from '@konstruct/graphql';
import { tenantScope } from '@konstruct/db';
import { builder } from '../builder.ts';
import type { TenancyContext } from '../builder.ts';
import { ChannelConnection } from './channel-connection.ts';
import { Tenant } from './tenant.ts';

interface CountersShape extends RateLimitCounterSnapshot {
  tenantId: string;
}
type ConnectionCounts = { tenantId: string; connectionId: string } & RateLimitCounts;

const countFields = {
  admitted: 'Messages handed to the employee at once.',
  deferred: 'Messages over the limit, kept and handed on later.',
  busy: 'Messages over the limit, kept and answered with the busy message.',
} as const;

const RateLimitCountsRef = builder.objectRef<RateLimitCounts>('RateLimitCounts').implement({
  description: 'What the rate limits decided, counted since counting began. Nothing over a limit is dropped.',
  fields: (t) => ({
    admitted: t.exposeInt('admitted', { description: countFields.admitted }),
    deferred: t.exposeInt('deferred', { description: countFields.deferred }),
    busy: t.exposeInt('busy', { description: countFields.busy }),
  }),
});

const ConnectionRateLimitCounts = builder.objectRef<ConnectionCounts>('ConnectionRateLimitCounts').implement({
  description: 'The rate-limit decisions for messages on one channel connection.',
  fields: (t) => ({
    connectionId: t.exposeID('connectionId'),
    connection: t.field({
      type: ChannelConnection,
      nullable: true,
      description: 'Null once the connection has been deleted.',
      resolve: (c, _a, ctx) =>
        ctx.db.withTenant(tenantScope(c.tenantId), (tx) => tx.channelConnection.findUnique({ where: { id: c.connectionId } })),
    }),
    admitted: t.exposeInt('admitted', { description: countFields.admitted }),
    deferred: t.exposeInt('deferred', { description: countFields.deferred }),
    busy: t.exposeInt('busy', { description: countFields.busy }),
  }),
});

const RateLimitCounters = builder.objectRef<CountersShape>('RateLimitCounters').implement({
  description: 'Rate-limit decisions for a tenant: its totals, and per channel connection.',
  fields: (t) => ({
    tenantId: t.exposeID('tenantId'),
    since: t.field({ type: 'DateTime', nullable: true, description: 'The first counted message.', resolve: (c) => c.since }),
    tenant: t.field({ type: RateLimitCountsRef, resolve: (c) => c.tenant }),
    connections: t.field({
      type: [ConnectionRateLimitCounts],
      resolve: (c) => c.connections.map((x) => ({ ...x, tenantId: c.tenantId })),
    }),
  }),
});

async function readCounters(ctx: SubgraphContext & TenancyContext, tenantId: string): Promise<CountersShape> {
  if (!ctx.rateLimitCounters) throw new KonstructError('DEPENDENCY_UNAVAILABLE', 'rate-limit counters are not available (no Redis configured)');
  let snapshot: RateLimitCounterSnapshot;
  try {
    snapshot = await ctx.rateLimitCounters.read(tenantId);
  } catch (e) {
    throw new KonstructError('DEPENDENCY_UNAVAILABLE', 'rate-limit counters are unavailable right now', undefined, { cause: e });
  }
  return { tenantId, ...snapshot };
}

builder.queryFields((t) => ({
  rateLimitCounters: t.field({
    type: RateLimitCounters,
    description: "The tenant's rate-limit counters; platform operators may name any tenant.",
    args: { tenantId: t.arg.id({ required: false }) },
    resolve: async (_r, args, ctx) => {
      const wanted = args.tenantId ? String(args.tenantId).toLowerCase() : null;
      if (wanted && ctx.identity.platformAdmin) {
        if (!isUuid(wanted)) throw forbidden('tenantId is not a tenant id');
        return readCounters(ctx, wanted);
      }
      const scope = tenantOf(ctx);
      if (wanted && wanted !== scope.tenantId) throw forbidden("another tenant's counters need a platform operator");
      return readCounters(ctx, scope.tenantId);
    },
  }),
}));

// The tenant object is only ever resolved for a caller allowed to see that tenant.
builder.objectField(Tenant, 'rateLimitCounters', (t) =>
  t.field({
    type: RateLimitCounters,
    description: 'What the rate limits decided for this tenant (admitted, deferred, busy).',
    resolve: (tenant, _a, ctx) => readCounters(ctx, tenant.id),
  }),
);
