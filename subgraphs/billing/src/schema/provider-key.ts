import { notFound, tenantForWrite, tenantOf, validationError } from '@konstruct/graphql';
import { builder, NotFound, ValidationError } from '../builder.ts';
import {
  addProviderKey,
  listProviderKeys,
  revokeProviderKey,
  rotateProviderKey,
  type ProviderKeyView,
} from '../data/provider-keys.ts';
import { normalizeProviderKey, validateProviderKeyInput } from '../domain/provider-key-input.ts';
import { LlmProvider } from './llm-provider.ts';
import { resultType } from './results.ts';

/** Write-only: the key itself has no field, here or anywhere in the graph. */
export const ProviderKey = builder.objectRef<ProviderKeyView>('ProviderKey').implement({
  description: "The tenant's own key for an LLM provider. The key is stored encrypted and is never returned.",
  fields: (t) => ({
    id: t.exposeID('id'),
    provider: t.expose('provider', { type: LlmProvider }),
    label: t.exposeString('label'),
    keyLast4: t.exposeString('keyHint', { description: "The key's last four characters, or **** for short keys." }),
    baseUrl: t.exposeString('baseUrl', { nullable: true, description: "API base; null for the provider's default." }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    rotatedAt: t.expose('rotatedAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

builder.queryField('providerKeys', (t) =>
  t.field({
    type: [ProviderKey],
    description: "The tenant's provider keys, newest first; revoked ones only when asked for.",
    args: { includeRevoked: t.arg.boolean({ required: false, defaultValue: false }) },
    resolve: (_root, args, ctx) =>
      ctx.db.withTenant(tenantOf(ctx), (tx) => listProviderKeys(tx, { includeRevoked: args.includeRevoked ?? false })),
  }),
);

const AddProviderKeyInput = builder.inputType('AddProviderKeyInput', {
  fields: (t) => ({
    provider: t.field({ type: LlmProvider, required: true }),
    label: t.string({ required: false }),
    key: t.string({ required: true, description: 'The secret key; at least 8 characters.' }),
    baseUrl: t.string({ required: false, description: 'https URL (http allowed for OLLAMA); omit for the default.' }),
  }),
});

const AddProviderKeyResult = builder.unionType('AddProviderKeyResult', {
  types: [ProviderKey, ValidationError],
  resolveType: resultType('ProviderKey'),
});
const RotateProviderKeyResult = builder.unionType('RotateProviderKeyResult', {
  types: [ProviderKey, ValidationError, NotFound],
  resolveType: resultType('ProviderKey'),
});
const RevokeProviderKeyResult = builder.unionType('RevokeProviderKeyResult', {
  types: [ProviderKey, NotFound],
  resolveType: resultType('ProviderKey'),
});

builder.mutationField('addProviderKey', (t) =>
  t.field({
    type: AddProviderKeyResult,
    args: { input: t.arg({ type: AddProviderKeyInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const scope = tenantForWrite(ctx);
      const valid = validateProviderKeyInput(input);
      if (!valid.ok) return validationError(valid.error.message, valid.error.field);
      const ring = ctx.keyring;
      return ctx.db.withTenant(scope, (tx) => addProviderKey(tx, scope, ring, valid.value));
    },
  }),
);

builder.mutationField('rotateProviderKey', (t) =>
  t.field({
    type: RotateProviderKeyResult,
    description: 'Replaces the key material of a live key (same id, provider and label).',
    args: { id: t.arg.id({ required: true }), key: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const scope = tenantForWrite(ctx);
      const id = String(args.id);
      const key = normalizeProviderKey(args.key);
      if (!key.ok) return validationError(key.error.message, key.error.field);
      const ring = ctx.keyring;
      const r = await ctx.db.withTenant(scope, (tx) => rotateProviderKey(tx, ring, id, key.value));
      if (r.ok) return r.value;
      return r.error === 'revoked' ? validationError('a revoked key cannot be rotated; add a new one', 'id') : notFound('provider key', id);
    },
  }),
);

builder.mutationField('revokeProviderKey', (t) =>
  t.field({
    type: RevokeProviderKeyResult,
    description: 'Revokes a key for good and erases its ciphertext. Revoking twice is harmless.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const scope = tenantForWrite(ctx);
      const id = String(args.id);
      const row = await ctx.db.withTenant(scope, (tx) => revokeProviderKey(tx, id));
      return row ?? notFound('provider key', id);
    },
  }),
);
