import { isUuid } from '@konstruct/core';
import { randomUUID } from 'node:crypto';
import { clampFirst, decodeCursor, afterCursor, page, requirePlatformAdmin, tenantOf, notFound, validationError, byTypename } from '@konstruct/graphql';
import { tenantScope, type enums } from '@konstruct/db';
import { builder, NotFound, ValidationError } from '../builder.ts';
import { checkTenant } from '../domain/validate.ts';

export interface TenantShape {
  id: string;
  slug: string;
  name: string;
  status: enums.TenantStatus;
  createdAt: Date;
  updatedAt: Date;
}

export const TenantStatus = builder.enumType('TenantStatus', { values: { ACTIVE: { value: 'active' }, SUSPENDED: { value: 'suspended' } } as const });

export const Tenant = builder.objectRef<TenantShape>('Tenant').implement({
  description: 'A business using Konstruct. Every other entity belongs to exactly one tenant.',
  fields: (t) => ({
    id: t.exposeID('id'),
    slug: t.exposeString('slug'),
    name: t.exposeString('name'),
    status: t.field({ type: TenantStatus, resolve: (p) => p.status }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

/** Another subgraph resolves `Tenant` only for the tenant the caller acts on (or any, for platform operators). */
builder.asEntity(Tenant, {
  key: builder.selection<{ id: string }>('id'),
  resolveReference: async ({ id }, ctx) => {
    if (ctx.identity.platformAdmin) return ctx.db.withPlatform((tx) => tx.tenant.findUnique({ where: { id } })) as Promise<TenantShape>;
    return ctx.db.withTenant(tenantOf(ctx), (tx) => tx.tenant.findUnique({ where: { id } })) as Promise<TenantShape>;
  },
});

const TenantPage = builder.objectRef<{ items: TenantShape[]; nextCursor: string | null }>('TenantPage').implement({
  fields: (t) => ({
    items: t.field({ type: [Tenant], resolve: (p) => p.items }),
    nextCursor: t.exposeString('nextCursor', { nullable: true }),
  }),
});

const uuidOrNull = (s: string) => (isUuid(s) ? s : null);

builder.queryFields((t) => ({
  tenant: t.field({
    type: Tenant,
    nullable: true,
    description: 'The tenant this request acts on; platform operators may name any tenant.',
    args: { id: t.arg.id({ required: false }) },
    resolve: async (_r, args, ctx) => {
      if (args.id && ctx.identity.platformAdmin) {
        const id = uuidOrNull(String(args.id));
        return id ? ctx.db.withPlatform((tx) => tx.tenant.findUnique({ where: { id } })) : null;
      }
      const scope = tenantOf(ctx);
      if (args.id && String(args.id) !== scope.tenantId) return null;
      return ctx.db.withTenant(scope, (tx) => tx.tenant.findUnique({ where: { id: scope.tenantId } }));
    },
  }),
  tenants: t.field({
    type: TenantPage,
    description: 'All tenants (platform operators only).',
    args: { first: t.arg.int({ required: false }), after: t.arg.string({ required: false }) },
    resolve: async (_r, args, ctx) => {
      requirePlatformAdmin(ctx);
      const first = clampFirst(args.first);
      const rows = await ctx.db.withPlatform((tx) =>
        tx.tenant.findMany({
          where: afterCursor(args.after ? decodeCursor(args.after) : null),
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
          take: first + 1,
        }),
      );
      return page(rows, first);
    },
  }),
}));

const TenantInput = builder.inputType('CreateTenantInput', {
  fields: (t) => ({ slug: t.string({ required: true }), name: t.string({ required: true }) }),
});
const UpdateTenantInput = builder.inputType('UpdateTenantInput', {
  fields: (t) => ({ name: t.string(), status: t.field({ type: TenantStatus }) }),
});

const CreateTenantResult = builder.unionType('CreateTenantResult', { types: [Tenant, ValidationError], resolveType: byTypename('Tenant') });
const UpdateTenantResult = builder.unionType('UpdateTenantResult', {
  types: [Tenant, ValidationError, NotFound],
  resolveType: byTypename('Tenant'),
});
export const Deleted = builder.objectRef<{ id: string }>('Deleted').implement({
  shareable: true,
  isTypeOf: (v) => typeof v === 'object' && v !== null && (v as { __typename?: string }).__typename === 'Deleted',
  fields: (t) => ({ id: t.exposeID('id') }),
});
const DeleteTenantResult = builder.unionType('DeleteTenantResult', {
  types: [Deleted, ValidationError, NotFound],
  resolveType: byTypename('Deleted'),
});

builder.mutationFields((t) => ({
  createTenant: t.field({
    type: CreateTenantResult,
    description: 'Platform operators only.',
    args: { input: t.arg({ type: TenantInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      requirePlatformAdmin(ctx);
      const problem = checkTenant(input);
      if (problem) return validationError(problem.message, problem.field);
      const taken = await ctx.db.withPlatform((tx) => tx.tenant.findUnique({ where: { slug: input.slug }, select: { id: true } }));
      if (taken) return validationError(`slug ${input.slug} is taken`, 'slug');
      return ctx.db.withPlatform((tx) => tx.tenant.create({ data: { id: randomUUID(), slug: input.slug, name: input.name.trim() } }));
    },
  }),
  updateTenant: t.field({
    type: UpdateTenantResult,
    description: "Tenant admins may rename their own tenant; only platform operators change a tenant's status.",
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateTenantInput, required: true }) },
    resolve: async (_r, { id, input }, ctx) => {
      const problem = checkTenant({ name: input.name ?? null });
      if (problem) return validationError(problem.message, problem.field);
      const tenantId = uuidOrNull(String(id));
      if (!tenantId) return notFound('tenant', String(id));
      if (ctx.identity.platformAdmin) {
        const found = await ctx.db.withPlatform((tx) =>
          tx.tenant.updateMany({ where: { id: tenantId }, data: { ...(input.name ? { name: input.name.trim() } : {}), ...(input.status ? { status: input.status } : {}) } }),
        );
        if (found.count === 0) return notFound('tenant', tenantId);
        return ctx.db.withPlatform((tx) => tx.tenant.findUniqueOrThrow({ where: { id: tenantId } }));
      }
      if (input.status) return validationError('only platform operators change a tenant status', 'status');
      const scope = tenantOf(ctx);
      if (ctx.identity.tenant?.role !== 'admin') return validationError('this action needs the admin role', null);
      if (scope.tenantId !== tenantId) return notFound('tenant', tenantId);
      return ctx.db.withTenant(tenantScope(tenantId), (tx) =>
        tx.tenant.update({ where: { id: tenantId }, data: input.name ? { name: input.name.trim() } : {} }),
      );
    },
  }),
  deleteTenant: t.field({
    type: DeleteTenantResult,
    description: 'Platform operators only. A tenant with audit history cannot be deleted; suspend it instead.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, { id }, ctx) => {
      requirePlatformAdmin(ctx);
      const tenantId = uuidOrNull(String(id));
      if (!tenantId) return notFound('tenant', String(id));
      try {
        const r = await ctx.db.withPlatform((tx) => tx.tenant.deleteMany({ where: { id: tenantId } }));
        return r.count ? { __typename: 'Deleted' as const, id: tenantId } : notFound('tenant', tenantId);
      } catch (e) {
        if ((e as { code?: string }).code === 'P2003' || /foreign key|audit/i.test((e as Error).message))
          return validationError('this tenant has audit history and cannot be deleted; suspend it instead', 'id');
        throw e;
      }
    },
  }),
}));
