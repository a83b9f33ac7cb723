import { tenantForWrite, tenantOf } from '@konstruct/graphql';
import {
  createToolDefinition,
  deleteToolDefinition,
  getToolDefinition,
  listToolDefinitions,
  updateToolDefinition,
} from '../data/tool-definitions.ts';
import { builder, NotFound, ValidationError } from '../builder.ts';
import { ToolKindEnum } from './enums.ts';
import { pageArgs } from './page-args.ts';
import { DeletedToolDefinition, ToolDefinitionPage, ToolDefinitionRef } from './refs.ts';
import { resolveResult } from './results.ts';

ToolDefinitionRef.implement({
  description: "A tool the tenant's agents may call: built in, or an HTTP endpoint the tenant runs.",
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name', { description: 'The function name the model sees.' }),
    description: t.exposeString('description', { description: 'Tells the model when to call the tool.' }),
    kind: t.expose('kind', { type: ToolKindEnum }),
    parameters: t.expose('parameters', { type: 'JSON', description: 'JSON Schema (type "object") of the arguments.' }),
    url: t.exposeString('url', { nullable: true }),
    method: t.exposeString('method'),
    hmacSecretSet: t.exposeBoolean('hmacSecretSet', {
      description: 'Whether requests are signed with an HMAC secret. The secret itself is write-only.',
    }),
    timeoutMs: t.exposeInt('timeoutMs'),
    maxResponseBytes: t.exposeInt('maxResponseBytes'),
    allowPrivateNetwork: t.exposeBoolean('allowPrivateNetwork'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

builder.asEntity(ToolDefinitionRef, {
  key: builder.selection<{ id: string }>('id'),
  resolveReference: (ref, ctx) => getToolDefinition(ctx.db, tenantOf(ctx), ref.id),
});

const docs = {
  name: 'Letters, digits, _ and -, starting with a letter; at most 64; unique in the tenant.',
  url: 'For http tools: an https URL (plain http only with allowPrivateNetwork).',
  method: 'GET, POST (default), PUT, PATCH or DELETE.',
  hmacSecret: 'Write-only, 16–512 characters: signs each request. Stored encrypted, never returned.',
  timeoutMs: '100–60000 (default 10000).',
  maxResponseBytes: 'At most 1048576 (default 65536).',
  allowPrivateNetwork: 'Allow private, loopback and plain-http addresses (default false).',
} as const;

const CreateToolDefinitionInput = builder.inputType('CreateToolDefinitionInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: docs.name }),
    description: t.string({ required: true }),
    kind: t.field({ type: ToolKindEnum, required: true }),
    parameters: t.field({ type: 'JSON', description: 'JSON Schema with type "object" (default: no arguments).' }),
    url: t.string({ description: docs.url }),
    method: t.string({ description: docs.method }),
    hmacSecret: t.string({ description: docs.hmacSecret }),
    timeoutMs: t.int({ description: docs.timeoutMs }),
    maxResponseBytes: t.int({ description: docs.maxResponseBytes }),
    allowPrivateNetwork: t.boolean({ description: docs.allowPrivateNetwork }),
  }),
});

const UpdateToolDefinitionInput = builder.inputType('UpdateToolDefinitionInput', {
  description: 'Only the fields given change; null leaves a field as it is.',
  fields: (t) => ({
    name: t.string({ description: docs.name }),
    description: t.string(),
    kind: t.field({ type: ToolKindEnum }),
    parameters: t.field({ type: 'JSON' }),
    url: t.string({ description: docs.url }),
    method: t.string({ description: docs.method }),
    hmacSecret: t.string({ description: `${docs.hmacSecret} Replaces the stored secret.` }),
    clearHmacSecret: t.boolean({ description: 'Remove the stored HMAC secret.' }),
    timeoutMs: t.int({ description: docs.timeoutMs }),
    maxResponseBytes: t.int({ description: docs.maxResponseBytes }),
    allowPrivateNetwork: t.boolean({ description: docs.allowPrivateNetwork }),
  }),
});

const CreateToolDefinitionResult = builder.unionType('CreateToolDefinitionResult', {
  types: [ToolDefinitionRef, ValidationError],
  resolveType: resolveResult('ToolDefinition'),
});
const UpdateToolDefinitionResult = builder.unionType('UpdateToolDefinitionResult', {
  types: [ToolDefinitionRef, ValidationError, NotFound],
  resolveType: resolveResult('ToolDefinition'),
});
const DeleteToolDefinitionResult = builder.unionType('DeleteToolDefinitionResult', {
  types: [DeletedToolDefinition, NotFound],
  resolveType: resolveResult('DeletedToolDefinition'),
});

builder.queryFields((t) => ({
  toolDefinition: t.field({
    type: ToolDefinitionRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => getToolDefinition(ctx.db, tenantOf(ctx), String(id)),
  }),
  toolDefinitions: t.field({
    type: ToolDefinitionPage,
    args: pageArgs,
    resolve: (_root, args, ctx) => listToolDefinitions(ctx.db, tenantOf(ctx), args),
  }),
}));

builder.mutationFields((t) => ({
  createToolDefinition: t.field({
    type: CreateToolDefinitionResult,
    args: { input: t.arg({ type: CreateToolDefinitionInput, required: true }) },
    resolve: (_root, { input }, ctx) => createToolDefinition(ctx.db, ctx.keyring, tenantForWrite(ctx), input),
  }),
  updateToolDefinition: t.field({
    type: UpdateToolDefinitionResult,
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateToolDefinitionInput, required: true }) },
    resolve: (_root, { id, input }, ctx) => updateToolDefinition(ctx.db, ctx.keyring, tenantForWrite(ctx), String(id), input),
  }),
  deleteToolDefinition: t.field({
    type: DeleteToolDefinitionResult,
    description: 'Deletes the tool and removes it from every agent.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => deleteToolDefinition(ctx.db, tenantForWrite(ctx), String(id)),
  }),
}));
