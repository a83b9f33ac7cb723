import { tenantForWrite, tenantOf } from '@konstruct/graphql';
import {
  createEscalationRule,
  deleteEscalationRule,
  getEscalationRule,
  updateEscalationRule,
} from '../data/escalation-rules.ts';
import { getAgent } from '../data/agents.ts';
import { builder, NotFound, ValidationError } from '../builder.ts';
import { EscalationTriggerEnum } from './enums.ts';
import { AgentRef, DeletedEscalationRule, EscalationRuleRef } from './refs.ts';
import { resolveResult } from './results.ts';

EscalationRuleRef.implement({
  description: 'When an agent hands a conversation to a person, and where that person is reached.',
  fields: (t) => ({
    id: t.exposeID('id'),
    agentId: t.exposeID('agentId'),
    agent: t.field({
      type: AgentRef,
      nullable: true,
      resolve: (rule, _args, ctx) => getAgent(ctx.db, tenantOf(ctx), rule.agentId),
    }),
    trigger: t.expose('trigger', { type: EscalationTriggerEnum }),
    pattern: t.exposeString('pattern', {
      nullable: true,
      description: 'Keywords (KEYWORD) or a regular expression (PATTERN).',
    }),
    threshold: t.exposeInt('threshold', { nullable: true, description: 'E.g. failed tool calls before TOOL_FAILURES fires.' }),
    target: t.expose('target', {
      type: 'JSON',
      description: 'Where the human is reached, e.g. {"kind":"slack","connectionId":"…","channel":"C…"}.',
    }),
    priority: t.exposeInt('priority', { description: 'Higher is evaluated first.' }),
    enabled: t.exposeBoolean('enabled'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.asEntity(EscalationRuleRef, {
  key: builder.selection<{ id: string }>('id'),
  resolveReference: (ref, ctx) => getEscalationRule(ctx.db, tenantOf(ctx), ref.id),
});

const docs = {
  pattern: 'Required for KEYWORD (keywords) and PATTERN (a valid regular expression); at most 2000 characters.',
  threshold: 'Required for TOOL_FAILURES; 1–1000.',
  target: 'A JSON object, at most 4 KiB.',
  priority: '-1000–1000 (default 0); higher is evaluated first.',
} as const;

const CreateEscalationRuleInput = builder.inputType('CreateEscalationRuleInput', {
  fields: (t) => ({
    trigger: t.field({ type: EscalationTriggerEnum, required: true }),
    pattern: t.string({ description: docs.pattern }),
    threshold: t.int({ description: docs.threshold }),
    target: t.field({ type: 'JSON', description: docs.target }),
    priority: t.int({ description: docs.priority }),
    enabled: t.boolean({ description: 'Default true.' }),
  }),
});

const UpdateEscalationRuleInput = builder.inputType('UpdateEscalationRuleInput', {
  description: 'Only the fields given change; null leaves a field as it is.',
  fields: (t) => ({
    trigger: t.field({ type: EscalationTriggerEnum }),
    pattern: t.string({ description: docs.pattern }),
    threshold: t.int({ description: docs.threshold }),
    target: t.field({ type: 'JSON', description: docs.target }),
    priority: t.int({ description: docs.priority }),
    enabled: t.boolean(),
  }),
});

const CreateEscalationRuleResult = builder.unionType('CreateEscalationRuleResult', {
  types: [EscalationRuleRef, ValidationError, NotFound],
  resolveType: resolveResult('EscalationRule'),
});
const UpdateEscalationRuleResult = builder.unionType('UpdateEscalationRuleResult', {
  types: [EscalationRuleRef, ValidationError, NotFound],
  resolveType: resolveResult('EscalationRule'),
});
const DeleteEscalationRuleResult = builder.unionType('DeleteEscalationRuleResult', {
  types: [DeletedEscalationRule, NotFound],
  resolveType: resolveResult('DeletedEscalationRule'),
});

builder.mutationFields((t) => ({
  createEscalationRule: t.field({
    type: CreateEscalationRuleResult,
    args: { agentId: t.arg.id({ required: true }), input: t.arg({ type: CreateEscalationRuleInput, required: true }) },
    resolve: (_root, { agentId, input }, ctx) => createEscalationRule(ctx.db, tenantForWrite(ctx), String(agentId), input),
  }),
  updateEscalationRule: t.field({
    type: UpdateEscalationRuleResult,
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateEscalationRuleInput, required: true }) },
    resolve: (_root, { id, input }, ctx) => updateEscalationRule(ctx.db, tenantForWrite(ctx), String(id), input),
  }),
  deleteEscalationRule: t.field({
    type: DeleteEscalationRuleResult,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => deleteEscalationRule(ctx.db, tenantForWrite(ctx), String(id)),
  }),
}));
