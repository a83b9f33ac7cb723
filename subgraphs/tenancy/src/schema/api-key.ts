import { isUuid } from '@konstruct/core';
import { randomUUID } from 'node:crypto';
import { generateApiKey } from '@konstruct/core';
import { tenantForWrite, tenantOf, notFound, validationError, byTypename } from '@konstruct/graphql';
import { builder, NotFound, ValidationError } from '../builder.ts';
import { checkApiKey } from '../domain/validate.ts';

interface ApiKeyShape {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const select = { id: true, name: true, prefix: true, scopes: true, createdAt: true, lastUsedAt: true, revokedAt: true } as const;

const ApiKeyScope = builder.enumType('ApiKeyScope', { values: { READ: { value: 'read' }, WRITE: { value: 'write' } } as const });

const ApiKey = builder.objectRef<ApiKeyShape>('ApiKey').implement({
  description: 'A partner API key. The key itself is shown only once, when it is created.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    prefix: t.exposeString('prefix', { description: 'The public part, to recognise a key: `kst_<prefix>_…`.' }),
    scopes: t.field({ type: [ApiKeyScope], resolve: (k) => k.scopes as ('read' | 'write')[] }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

const ApiKeyCreated = builder.objectRef<{ apiKey: ApiKeyShape; key: string }>('ApiKeyCreated').implement({
  fields: (t) => ({
    apiKey: t.field({ type: ApiKey, resolve: (c) => c.apiKey }),
    key: t.exposeString('key', { description: 'The full key. Store it now: it cannot be shown again.' }),
  }),
});
const CreateApiKeyResult = builder.unionType('CreateApiKeyResult', {
  types: [ApiKeyCreated, ValidationError],
  resolveType: byTypename('ApiKeyCreated'),
});
const RevokeApiKeyResult = builder.unionType('RevokeApiKeyResult', {
  types: [ApiKey, NotFound],
  resolveType: byTypename('ApiKey'),
});


builder.queryFields((t) => ({
  apiKeys: t.field({
    type: [ApiKey],
    resolve: (_r, _a, ctx) => ctx.db.withTenant(tenantOf(ctx), (tx) => tx.apiKey.findMany({ select, orderBy: { createdAt: 'desc' } })),
  }),
}));

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreateApiKeyResult,
    args: { name: t.arg.string({ required: true }), scopes: t.arg({ type: [ApiKeyScope], required: true }) },
    resolve: async (_r, { name, scopes }, ctx) => {
      const scope = tenantForWrite(ctx);
      const problem = checkApiKey({ name, scopes });
      if (problem) return validationError(problem.message, problem.field);
      const { key, prefix, hash } = generateApiKey();
      const apiKey = await ctx.db.withTenant(scope, (tx) =>
        tx.apiKey.create({
          data: {
            id: randomUUID(),
            tenantId: scope.tenantId,
            name: name.trim(),
            prefix,
            keyHash: hash,
            scopes: [...new Set(scopes)],
            createdBy: ctx.identity.actor.kind === 'operator' ? ctx.identity.actor.id : null,
          },
          select,
        }),
      );
      return { apiKey, key };
    },
  }),
  revokeApiKey: t.field({
    type: RevokeApiKeyResult,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, { id }, ctx) => {
      const scope = tenantForWrite(ctx);
      const keyId = String(id);
      if (!isUuid(keyId)) return notFound('API key', keyId);
      return ctx.db.withTenant(scope, async (tx) => {
        const r = await tx.apiKey.updateMany({ where: { id: keyId, revokedAt: null }, data: { revokedAt: new Date() } });
        const row = await tx.apiKey.findUnique({ where: { id: keyId }, select });
        return row && (r.count || row.revokedAt) ? row : notFound('API key', keyId);
      });
    },
  }),
}));
