import { isUuid } from '@konstruct/core';
import { randomUUID } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { signOperatorToken } from '@konstruct/core';
import { requirePlatformAdmin, tenantForWrite, tenantOf, notFound, validationError, byTypename } from '@konstruct/graphql';
import { builder, NotFound, ValidationError } from '../builder.ts';
import { checkOperator } from '../domain/validate.ts';
import { Deleted, Tenant, type TenantShape } from './tenant.ts';

interface OperatorShape {
  id: string;
  email: string;
  displayName: string;
  isPlatformAdmin: boolean;
  createdAt: Date;
  lastLoginAt: Date | null;
}
interface MembershipShape {
  id: string;
  role: 'admin' | 'viewer';
  createdAt: Date;
  operator: OperatorShape;
  tenant?: TenantShape;
}

const operatorSelect = { id: true, email: true, displayName: true, isPlatformAdmin: true, createdAt: true, lastLoginAt: true } as const;

export const Role = builder.enumType('Role', { values: { ADMIN: { value: 'admin' }, VIEWER: { value: 'viewer' } } as const });

export const Operator = builder.objectRef<OperatorShape>('Operator').implement({
  description: 'A person who signs in to the portal.',
  fields: (t) => ({
    id: t.exposeID('id'),
    email: t.exposeString('email'),
    displayName: t.exposeString('displayName'),
    isPlatformAdmin: t.exposeBoolean('isPlatformAdmin'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastLoginAt: t.expose('lastLoginAt', { type: 'DateTime', nullable: true }),
  }),
});

export const Membership = builder.objectRef<MembershipShape>('Membership').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    role: t.field({ type: Role, resolve: (m) => m.role }),
    operator: t.field({ type: Operator, resolve: (m) => m.operator }),
    tenant: t.field({ type: Tenant, nullable: true, resolve: (m) => m.tenant ?? null }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const PendingInvitation = builder.objectRef<{ role: 'admin' | 'viewer'; createdAt: Date; tenant: TenantShape }>('PendingInvitation').implement({
  fields: (t) => ({
    tenant: t.field({ type: Tenant, resolve: (i) => i.tenant }),
    role: t.field({ type: Role, resolve: (i) => i.role }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const Invitation = builder.objectRef<{ id: string; invitedEmail: string | null; role: 'admin' | 'viewer'; createdAt: Date }>('Invitation').implement({
  description: 'An invitation to this tenant that has not been accepted yet.',
  fields: (t) => ({
    id: t.exposeID('id'),
    email: t.exposeString('invitedEmail', { nullable: true }),
    role: t.field({ type: Role, resolve: (i) => i.role }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const InvitationSent = builder.objectRef<{ email: string; role: 'admin' | 'viewer' }>('InvitationSent').implement({
  description:
    'The operator with this email (if there is one) is invited; the answer is the same either way, so it does not reveal who has an account.',
  fields: (t) => ({
    email: t.exposeString('email'),
    role: t.field({ type: Role, resolve: (i) => i.role }),
  }),
});

async function issueSession(
  jwtSecret: string,
  operator: OperatorShape,
  memberships: { tenantId: string; role: 'admin' | 'viewer' }[],
) {
  const { token, expiresAt } = await signOperatorToken(jwtSecret, {
    sub: operator.id,
    pa: operator.isPlatformAdmin,
    m: Object.fromEntries(memberships.map((m) => [m.tenantId, m.role])),
  });
  return { token, expiresAt, operator };
}

const ActorKind = builder.enumType('ActorKind', { values: { ANONYMOUS: { value: 'anonymous' }, OPERATOR: { value: 'operator' }, API_KEY: { value: 'api_key' } } as const });

const Me = builder.objectRef<{ kind: 'anonymous' | 'operator' | 'api_key'; platformAdmin: boolean; role: 'admin' | 'viewer' | null; tenantId: string | null; operatorId: string | null }>('Me').implement({
  description: 'Who the caller is, as the gateway authenticated them.',
  fields: (t) => ({
    actorKind: t.field({ type: ActorKind, resolve: (m) => m.kind }),
    platformAdmin: t.exposeBoolean('platformAdmin'),
    role: t.field({ type: Role, nullable: true, resolve: (m) => m.role }),
    tenantId: t.exposeID('tenantId', { nullable: true }),
    operator: t.field({
      type: Operator,
      nullable: true,
      resolve: (m, _a, ctx) =>
        m.operatorId ? ctx.db.withPlatform((tx) => tx.operator.findUnique({ where: { id: m.operatorId! }, select: operatorSelect })) : null,
    }),
    memberships: t.field({
      type: [Membership],
      description: "The operator's tenants, for the portal's tenant switcher.",
      resolve: (m, _a, ctx) =>
        m.operatorId
          ? ctx.db.withPlatform((tx) =>
              tx.membership.findMany({
                where: { operatorId: m.operatorId!, acceptedAt: { not: null } },
                select: { id: true, role: true, createdAt: true, operator: { select: operatorSelect }, tenant: true },
                orderBy: { createdAt: 'asc' },
              }),
            )
          : [],
    }),
    invitations: t.field({
      type: [PendingInvitation],
      description: 'Tenants that invited this operator; accept with acceptInvitation.',
      resolve: (m, _a, ctx) =>
        m.operatorId
          ? ctx.db.withPlatform((tx) =>
              tx.membership.findMany({
                where: { operatorId: m.operatorId!, acceptedAt: null },
                select: { role: true, createdAt: true, tenant: true },
                orderBy: { createdAt: 'asc' },
              }),
            )
          : [],
    }),
  }),
});

const Session = builder.objectRef<{ token: string; expiresAt: Date; operator: OperatorShape }>('Session').implement({
  description: 'A signed-in operator. Send the token as `Authorization: Bearer <token>`.',
  fields: (t) => ({
    token: t.exposeString('token'),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
    operator: t.field({ type: Operator, resolve: (s) => s.operator }),
  }),
});
const LoginResult = builder.unionType('LoginResult', {
  types: [Session, ValidationError],
  resolveType: byTypename('Session'),
});
const CreateOperatorResult = builder.unionType('CreateOperatorResult', {
  types: [Operator, ValidationError],
  resolveType: byTypename('Operator'),
});
const AddMemberResult = builder.unionType('AddMemberResult', {
  types: [InvitationSent, ValidationError],
  resolveType: byTypename('InvitationSent'),
});
const AcceptInvitationResult = builder.unionType('AcceptInvitationResult', {
  types: [Session, NotFound],
  resolveType: byTypename('Session'),
});
const RemoveMemberResult = builder.unionType('RemoveMemberResult', {
  types: [Deleted, NotFound],
  resolveType: byTypename('Deleted'),
});

// Verifying against a fixed hash when the email is unknown keeps the timing the same.
const decoyHash = hash('konstruct-decoy-password');

builder.queryFields((t) => ({
  me: t.field({
    type: Me,
    resolve: (_r, _a, ctx) => {
      const id = ctx.identity;
      return {
        kind: id.actor.kind,
        platformAdmin: id.platformAdmin,
        role: id.tenant?.role ?? null,
        tenantId: id.tenant?.id ?? null,
        operatorId: id.actor.kind === 'operator' ? id.actor.id : null,
      };
    },
  }),
  members: t.field({
    type: [Membership],
    description: "The current tenant's operators and their roles.",
    resolve: (_r, _a, ctx) =>
      ctx.db.withTenant(tenantOf(ctx), (tx) =>
        tx.membership.findMany({
          where: { acceptedAt: { not: null } },
          select: { id: true, role: true, createdAt: true, operator: { select: operatorSelect } },
          orderBy: { createdAt: 'asc' },
        }),
      ),
  }),
  invitations: t.field({
    type: [Invitation],
    description: "The current tenant's invitations that are not accepted yet.",
    resolve: (_r, _a, ctx) =>
      ctx.db.withTenant(tenantOf(ctx), (tx) =>
        tx.membership.findMany({
          where: { acceptedAt: null },
          select: { id: true, invitedEmail: true, role: true, createdAt: true },
          orderBy: { createdAt: 'asc' },
        }),
      ),
  }),
}));

builder.mutationFields((t) => ({
  login: t.field({
    type: LoginResult,
    description: 'Email and password in, a short-lived session token out.',
    args: { email: t.arg.string({ required: true }), password: t.arg.string({ required: true }) },
    resolve: async (_r, { email, password }, ctx) => {
      const found = await ctx.db.withPlatform((tx) =>
        tx.operator.findUnique({
          where: { email: email.trim().toLowerCase() },
          select: { ...operatorSelect, passwordHash: true, memberships: { where: { acceptedAt: { not: null } }, select: { tenantId: true, role: true } } },
        }),
      );
      const ok = await verify(found?.passwordHash ?? (await decoyHash), password).catch(() => false);
      if (!found || !ok) return validationError('invalid email or password', null);
      const { passwordHash: _h, memberships, ...operator } = found;
      await ctx.db.withPlatform((tx) => tx.operator.update({ where: { id: operator.id }, data: { lastLoginAt: new Date() } }));
      return issueSession(ctx.jwtSecret, operator, memberships);
    },
  }),
  createOperator: t.field({
    type: CreateOperatorResult,
    description: 'Platform operators only: a new portal login.',
    args: {
      email: t.arg.string({ required: true }),
      password: t.arg.string({ required: true }),
      displayName: t.arg.string({ required: true }),
      platformAdmin: t.arg.boolean({ required: false }),
    },
    resolve: async (_r, args, ctx) => {
      requirePlatformAdmin(ctx);
      const problem = checkOperator(args);
      if (problem) return validationError(problem.message, problem.field);
      const email = args.email.trim().toLowerCase();
      const exists = await ctx.db.withPlatform((tx) => tx.operator.findUnique({ where: { email }, select: { id: true } }));
      if (exists) return validationError(`an operator with email ${email} exists`, 'email');
      const passwordHash = await hash(args.password);
      return ctx.db.withPlatform((tx) =>
        tx.operator.create({
          data: { id: randomUUID(), email, passwordHash, displayName: args.displayName.trim(), isPlatformAdmin: args.platformAdmin ?? false },
          select: operatorSelect,
        }),
      );
    },
  }),
  addMember: t.field({
    type: AddMemberResult,
    description:
      'Invites an operator to the current tenant by email (a member already: changes the role). The invitation grants nothing until the operator accepts it.',
    args: { email: t.arg.string({ required: true }), role: t.arg({ type: Role, required: true }) },
    resolve: async (_r, { email, role }, ctx) => {
      const scope = tenantForWrite(ctx);
      const address = email.trim().toLowerCase();
      if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(address) || address.length > 254) return validationError('email is not a valid address', 'email');
      const operator = await ctx.db.withPlatform((tx) => tx.operator.findUnique({ where: { email: address }, select: { id: true } }));
      if (operator) {
        await ctx.db.withTenant(scope, (tx) =>
          tx.membership.upsert({
            where: { tenantId_operatorId: { tenantId: scope.tenantId, operatorId: operator.id } },
            create: { id: randomUUID(), tenantId: scope.tenantId, operatorId: operator.id, role, invitedEmail: address },
            update: { role },
          }),
        );
      }
      return { email: address, role };
    },
  }),
  acceptInvitation: t.field({
    type: AcceptInvitationResult,
    description: 'Accepts an invitation; returns a new session that includes the tenant.',
    args: { tenantId: t.arg.id({ required: true }) },
    resolve: async (_r, { tenantId }, ctx) => {
      if (ctx.identity.actor.kind !== 'operator') return notFound('invitation', String(tenantId));
      const operatorId = ctx.identity.actor.id;
      const id = String(tenantId);
      if (!isUuid(id)) return notFound('invitation', id);
      const accepted = await ctx.db.withPlatform(async (tx) => {
        const r = await tx.membership.updateMany({ where: { operatorId, tenantId: id, acceptedAt: null }, data: { acceptedAt: new Date() } });
        if (r.count === 0) return null;
        return tx.operator.findUniqueOrThrow({
          where: { id: operatorId },
          select: { ...operatorSelect, memberships: { where: { acceptedAt: { not: null } }, select: { tenantId: true, role: true } } },
        });
      });
      if (!accepted) return notFound('invitation', id);
      const { memberships, ...operator } = accepted;
      return issueSession(ctx.jwtSecret, operator, memberships);
    },
  }),
  declineInvitation: t.field({
    type: RemoveMemberResult,
    args: { tenantId: t.arg.id({ required: true }) },
    resolve: async (_r, { tenantId }, ctx) => {
      const id = String(tenantId);
      if (ctx.identity.actor.kind !== 'operator' || !isUuid(id)) return notFound('invitation', id);
      const operatorId = ctx.identity.actor.id;
      const r = await ctx.db.withPlatform((tx) => tx.membership.deleteMany({ where: { operatorId, tenantId: id, acceptedAt: null } }));
      return r.count ? { __typename: 'Deleted' as const, id } : notFound('invitation', id);
    },
  }),
  removeMember: t.field({
    type: RemoveMemberResult,
    args: { operatorId: t.arg.id({ required: true }) },
    resolve: async (_r, { operatorId }, ctx) => {
      const scope = tenantForWrite(ctx);
      const id = String(operatorId);
      if (!isUuid(id)) return notFound('member', id);
      const r = await ctx.db.withTenant(scope, (tx) => tx.membership.deleteMany({ where: { operatorId: id } }));
      return r.count ? { __typename: 'Deleted' as const, id } : notFound('member', id);
    },
  }),
}));
