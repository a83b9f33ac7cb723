import { DEFAULT_RATE_LIMITS, isUuid } from '@konstruct/core';
import { randomUUID } from 'node:crypto';
import { tenantForWrite, tenantOf, validationError, byTypename } from '@konstruct/graphql';
import type { enums } from '@konstruct/db';
import { builder, ValidationError } from '../builder.ts';
import { checkRateLimit } from '../domain/validate.ts';

interface RateLimitShape {
  id: string;
  connectionId: string | null;
  perMinute: number;
  burst: number;
  overLimitAction: enums.OverLimitAction;
  busyMessage: string | null;
  updatedAt: Date;
}

const OverLimitAction = builder.enumType('OverLimitAction', {
  values: {
    DEFER: { value: 'defer', description: 'Keep the message and process it when the limit allows.' },
    BUSY_MESSAGE: { value: 'busy_message', description: 'Keep the message and answer with the busy message.' },
  } as const,
});

const RateLimitSetting = builder.objectRef<RateLimitShape>('RateLimitSetting').implement({
  description: 'Messages per minute for the whole tenant (connectionId null) or one channel connection.',
  fields: (t) => ({
    id: t.exposeID('id'),
    connectionId: t.exposeID('connectionId', { nullable: true }),
    perMinute: t.exposeInt('perMinute'),
    burst: t.exposeInt('burst'),
    overLimitAction: t.field({ type: OverLimitAction, resolve: (r) => r.overLimitAction }),
    busyMessage: t.exposeString('busyMessage', { nullable: true }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const RateLimitInput = builder.inputType('RateLimitInput', {
  fields: (t) => ({
    connectionId: t.id({ description: 'Omit for the tenant-wide limit.' }),
    perMinute: t.int({ required: true }),
    burst: t.int({ required: true }),
    overLimitAction: t.field({ type: OverLimitAction, required: true }),
    busyMessage: t.string(),
  }),
});
const SetRateLimitResult = builder.unionType('SetRateLimitResult', {
  types: [RateLimitSetting, ValidationError],
  resolveType: byTypename('RateLimitSetting'),
});

const select = { id: true, connectionId: true, perMinute: true, burst: true, overLimitAction: true, busyMessage: true, updatedAt: true } as const;

builder.queryFields((t) => ({
  rateLimits: t.field({
    type: [RateLimitSetting],
    description: `The limits this tenant has set. Where none is set, ${DEFAULT_RATE_LIMITS.tenant.perMinute} messages a minute (bursts of ${DEFAULT_RATE_LIMITS.tenant.burst}) apply to the tenant and ${DEFAULT_RATE_LIMITS.connection.perMinute} a minute (bursts of ${DEFAULT_RATE_LIMITS.connection.burst}) to each channel connection, deferring what is over.`,
    resolve: (_r, _a, ctx) => ctx.db.withTenant(tenantOf(ctx), (tx) => tx.rateLimitSetting.findMany({ select, orderBy: { createdAt: 'asc' } })),
  }),
}));

builder.mutationFields((t) => ({
  setRateLimit: t.field({
    type: SetRateLimitResult,
    args: { input: t.arg({ type: RateLimitInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const scope = tenantForWrite(ctx);
      const problem = checkRateLimit(input);
      if (problem) return validationError(problem.message, problem.field);
      const connectionId = input.connectionId ? String(input.connectionId) : null;
      return ctx.db.withTenant(scope, async (tx) => {
        if (connectionId) {
          const visible = isUuid(connectionId) && (await tx.channelConnection.findUnique({ where: { id: connectionId }, select: { id: true } }));
          if (!visible) return validationError('connectionId does not name a channel connection of this tenant', 'connectionId');
        }
        const data = { perMinute: input.perMinute, burst: input.burst, overLimitAction: input.overLimitAction, busyMessage: input.busyMessage ?? null };
        const existing = await tx.rateLimitSetting.findFirst({ where: { connectionId }, select: { id: true } });
        return existing
          ? tx.rateLimitSetting.update({ where: { id: existing.id }, data, select })
          : tx.rateLimitSetting.create({ data: { id: randomUUID(), tenantId: scope.tenantId, connectionId, ...data }, select });
      });
    },
  }),
}));
