import { isUuid } from '@konstruct/core';
import { randomUUID } from 'node:crypto';
import { encryptSecret, secretContext, secretHint } from '@konstruct/core';
import { tenantForWrite, tenantOf, notFound, validationError, byTypename } from '@konstruct/graphql';
import type { Prisma, enums } from '@konstruct/db';
import { builder, NotFound, ValidationError } from '../builder.ts';
import { checkConnection } from '../domain/validate.ts';
import { agentFitsChannel } from '../domain/whatsapp-scope.ts';
import { Deleted } from './tenant.ts';

interface ConnectionShape {
  id: string;
  kind: enums.ChannelKind;
  externalId: string;
  appId: string;
  displayName: string;
  agentId: string | null;
  status: enums.ConnectionStatus;
  botUserId: string | null;
  botTokenHint: string | null;
  signingSecretHint: string | null;
  accessTokenHint: string | null;
  settings: Prisma.JsonValue;
  createdAt: Date;
  updatedAt: Date;
}

/** Everything but the ciphertexts: secrets never leave the database through the API. */
const select = {
  id: true,
  kind: true,
  externalId: true,
  appId: true,
  displayName: true,
  agentId: true,
  status: true,
  botUserId: true,
  botTokenHint: true,
  signingSecretHint: true,
  accessTokenHint: true,
  settings: true,
  createdAt: true,
  updatedAt: true,
} as const;

const ChannelKind = builder.enumType('ChannelKind', { values: { SLACK: { value: 'slack' }, WHATSAPP: { value: 'whatsapp' } } as const });
const ConnectionStatus = builder.enumType('ConnectionStatus', {
  values: { ACTIVE: { value: 'active' }, DISABLED: { value: 'disabled' }, NEEDS_ATTENTION: { value: 'needs_attention' } } as const,
});

const SecretState = builder.objectRef<{ hint: string | null }>('SecretState').implement({
  description: 'Whether a secret is set, and its last four characters. The secret itself is write-only.',
  fields: (t) => ({
    isSet: t.boolean({ resolve: (s) => s.hint !== null }),
    last4: t.exposeString('hint', { nullable: true }),
  }),
});

export const ChannelConnection = builder.objectRef<ConnectionShape>('ChannelConnection').implement({
  description: 'A Slack workspace or WhatsApp Business number connected to the tenant, and the employee answering there.',
  fields: (t) => ({
    id: t.exposeID('id'),
    kind: t.field({ type: ChannelKind, resolve: (c) => c.kind }),
    externalId: t.exposeString('externalId', { description: 'Slack team id, or WhatsApp phone number id.' }),
    appId: t.exposeString('appId'),
    displayName: t.exposeString('displayName'),
    agentId: t.exposeID('agentId', { nullable: true }),
    status: t.field({ type: ConnectionStatus, resolve: (c) => c.status }),
    botUserId: t.exposeString('botUserId', { nullable: true }),
    botToken: t.field({ type: SecretState, resolve: (c) => ({ hint: c.botTokenHint }) }),
    signingSecret: t.field({ type: SecretState, resolve: (c) => ({ hint: c.signingSecretHint }) }),
    accessToken: t.field({ type: SecretState, resolve: (c) => ({ hint: c.accessTokenHint }) }),
    settings: t.field({ type: 'JSON', resolve: (c) => c.settings }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});
builder.asEntity(ChannelConnection, {
  key: builder.selection<{ id: string }>('id'),
  resolveReference: ({ id }, ctx) =>
    ctx.db.withTenant(tenantOf(ctx), (tx) => tx.channelConnection.findUnique({ where: { id }, select })) as Promise<ConnectionShape>,
});

const ConnectionInput = builder.inputType('ChannelConnectionInput', {
  fields: (t) => ({
    kind: t.field({ type: ChannelKind, required: true }),
    externalId: t.string({ required: true }),
    appId: t.string(),
    displayName: t.string(),
    agentId: t.id(),
    botUserId: t.string(),
    botToken: t.string({ description: 'Slack bot token (write-only).' }),
    signingSecret: t.string({ description: "Signing secret of the tenant's own Slack app (write-only)." }),
    accessToken: t.string({ description: 'WhatsApp access token (write-only).' }),
    settings: t.field({ type: 'JSON' }),
  }),
});
const UpdateConnectionInput = builder.inputType('UpdateChannelConnectionInput', {
  fields: (t) => ({
    displayName: t.string(),
    agentId: t.id(),
    status: t.field({ type: ConnectionStatus }),
    botUserId: t.string(),
    botToken: t.string(),
    signingSecret: t.string(),
    accessToken: t.string(),
    settings: t.field({ type: 'JSON' }),
  }),
});

const ConnectionResult = builder.unionType('ChannelConnectionResult', {
  types: [ChannelConnection, ValidationError, NotFound],
  resolveType: byTypename('ChannelConnection'),
});
const DeleteConnectionResult = builder.unionType('DeleteChannelConnectionResult', {
  types: [Deleted, NotFound],
  resolveType: byTypename('Deleted'),
});


/**
 * Whether the agent may answer on this kind of channel. Foreign keys are checked without
 * row-level security, so an agent id from another tenant would satisfy one; the agent must be
 * visible inside this tenant's transaction. The row is locked FOR SHARE until the connection
 * is saved, so a concurrent `updateAgent` emptying its business functions (which locks the row
 * FOR UPDATE and then looks for WhatsApp connections) either sees this connection or finishes
 * first and makes this check fail — never neither.
 */
async function checkAgentFor(tx: Prisma.TransactionClient, kind: enums.ChannelKind, agentId: unknown) {
  const id = String(agentId);
  const rows = isUuid(id)
    ? await tx.$queryRaw<{ business_functions: string[] }[]>`SELECT business_functions FROM agents WHERE id = ${id}::uuid FOR SHARE`
    : [];
  if (rows.length === 0) return validationError('agentId does not name an agent of this tenant', 'agentId');
  const problem = agentFitsChannel(kind, rows[0]!.business_functions);
  return problem ? validationError(problem.message, problem.field) : null;
}

builder.queryFields((t) => ({
  channelConnections: t.field({
    type: [ChannelConnection],
    resolve: (_r, _a, ctx) =>
      ctx.db.withTenant(tenantOf(ctx), (tx) => tx.channelConnection.findMany({ select, orderBy: { createdAt: 'asc' } })),
  }),
  channelConnection: t.field({
    type: ChannelConnection,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, { id }, ctx) =>
      isUuid(String(id)) ? ctx.db.withTenant(tenantOf(ctx), (tx) => tx.channelConnection.findUnique({ where: { id: String(id) }, select })) : null,
  }),
}));

/** Encrypts each provided secret for this row; `undefined` leaves a secret unchanged, `''` clears it. */
function secretColumns(
  keyring: Parameters<typeof encryptSecret>[0],
  id: string,
  secrets: { botToken?: string | null; signingSecret?: string | null; accessToken?: string | null },
) {
  const out: Record<string, string | null> = {};
  const put = (field: 'bot_token' | 'signing_secret' | 'access_token', enc: string, hint: string, value: string | null | undefined) => {
    if (value === undefined || value === null) return;
    out[enc] = value === '' ? null : encryptSecret(keyring, value, secretContext('channel_connections', field, id));
    out[hint] = value === '' ? null : secretHint(value);
  };
  put('bot_token', 'botTokenEnc', 'botTokenHint', secrets.botToken);
  put('signing_secret', 'signingSecretEnc', 'signingSecretHint', secrets.signingSecret);
  put('access_token', 'accessTokenEnc', 'accessTokenHint', secrets.accessToken);
  return out;
}

builder.mutationFields((t) => ({
  createChannelConnection: t.field({
    type: ConnectionResult,
    args: { input: t.arg({ type: ConnectionInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const scope = tenantForWrite(ctx);
      const problem = checkConnection(input);
      if (problem) return validationError(problem.message, problem.field);
      const id = randomUUID();
      const appId = input.appId ?? '';
      const taken = await ctx.db.withRouting((tx) =>
        tx.channelConnection.findFirst({ where: { kind: input.kind, externalId: input.externalId, appId }, select: { id: true } }),
      );
      if (taken) return validationError(`this ${input.kind} account is already connected`, 'externalId');
      return ctx.db.withTenant(scope, async (tx) => {
        const agentProblem = input.agentId ? await checkAgentFor(tx, input.kind, input.agentId) : null;
        if (agentProblem) return agentProblem;
        return tx.channelConnection.create({
            data: {
              id,
              tenantId: scope.tenantId,
              kind: input.kind,
              externalId: input.externalId,
              appId,
              displayName: input.displayName ?? '',
              agentId: input.agentId ? String(input.agentId) : null,
              botUserId: input.botUserId ?? null,
              settings: (input.settings ?? {}) as Prisma.InputJsonValue,
              ...secretColumns(ctx.keyring, id, input),
            },
            select,
          });
      });
    },
  }),
  updateChannelConnection: t.field({
    type: ConnectionResult,
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateConnectionInput, required: true }) },
    resolve: async (_r, { id, input }, ctx) => {
      const scope = tenantForWrite(ctx);
      const connId = String(id);
      if (!isUuid(connId)) return notFound('channel connection', connId);
      return ctx.db.withTenant(scope, async (tx) => {
        const current = await tx.channelConnection.findUnique({ where: { id: connId }, select: { kind: true } });
        if (!current) return notFound('channel connection', connId);
        const problem = checkConnection({ kind: current.kind, botToken: input.botToken, accessToken: input.accessToken });
        if (problem) return validationError(problem.message, problem.field);
        const agentProblem = input.agentId ? await checkAgentFor(tx, current.kind, input.agentId) : null;
        if (agentProblem) return agentProblem;
        return tx.channelConnection.update({
          where: { id: connId },
          data: {
            ...(input.displayName != null ? { displayName: input.displayName } : {}),
            ...(input.agentId !== undefined ? { agentId: input.agentId ? String(input.agentId) : null } : {}),
            ...(input.status ? { status: input.status } : {}),
            ...(input.botUserId != null ? { botUserId: input.botUserId } : {}),
            ...(input.settings != null ? { settings: input.settings as Prisma.InputJsonValue } : {}),
            ...secretColumns(ctx.keyring, connId, input),
          },
          select,
        });
      });
    },
  }),
  deleteChannelConnection: t.field({
    type: DeleteConnectionResult,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, { id }, ctx) => {
      const scope = tenantForWrite(ctx);
      const connId = String(id);
      if (!isUuid(connId)) return notFound('channel connection', connId);
      const r = await ctx.db.withTenant(scope, (tx) => tx.channelConnection.deleteMany({ where: { id: connId } }));
      return r.count ? { __typename: 'Deleted' as const, id: connId } : notFound('channel connection', connId);
    },
  }),
}));
