import { tenantForWrite, tenantOf } from '@konstruct/graphql';
import {
  agentTools,
  setToolAssignment,
  createAgent,
  deleteAgent,
  getAgent,
  listAgents,
  updateAgent,
} from '../data/agents.ts';
import { listConversations } from '../data/conversations.ts';
import { agentEscalationRules } from '../data/escalation-rules.ts';
import { builder, NotFound, ValidationError } from '../builder.ts';
import { AgentStatusEnum, BudgetExhaustedActionEnum, ConversationStateEnum } from './enums.ts';
import { pageArgs } from './page-args.ts';
import {
  AgentPage,
  AgentRef,
  ConversationPage,
  DeletedAgent,
  EscalationRuleRef,
  ToolDefinitionRef,
} from './refs.ts';
import { resolveResult } from './results.ts';

AgentRef.implement({
  description: 'An AI employee, as designed in the portal.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    role: t.exposeString('role'),
    persona: t.exposeString('persona'),
    jobDescription: t.exposeString('jobDescription'),
    statementOfWork: t.exposeString('statementOfWork'),
    systemPrompt: t.exposeString('systemPrompt'),
    businessFunctions: t.exposeStringList('businessFunctions', {
      description: 'What the employee is for; required before a WhatsApp channel can be attached.',
    }),
    modelPreferences: t.expose('modelPreferences', {
      type: 'JSON',
      description: 'Ordered model preferences, e.g. {"group":"default","models":["openai:gpt-4o-mini"]}.',
    }),
    onBudgetExhausted: t.expose('onBudgetExhausted', { type: BudgetExhaustedActionEnum }),
    status: t.expose('status', { type: AgentStatusEnum }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    tools: t.field({
      type: [ToolDefinitionRef],
      description: 'The tools assigned to this agent, in assignment order.',
      resolve: (agent, _args, ctx) => agentTools(ctx.db, tenantOf(ctx), agent.id),
    }),
    escalationRules: t.field({
      type: [EscalationRuleRef],
      description: 'In evaluation order: highest priority first.',
      resolve: (agent, _args, ctx) => agentEscalationRules(ctx.db, tenantOf(ctx), agent.id),
    }),
    conversations: t.field({
      type: ConversationPage,
      args: { ...pageArgs, state: t.arg({ type: ConversationStateEnum }) },
      resolve: (agent, { state, ...page }, ctx) => listConversations(ctx.db, tenantOf(ctx), { agentId: agent.id, state }, page),
    }),
  }),
});

builder.asEntity(AgentRef, {
  key: builder.selection<{ id: string }>('id'),
  resolveReference: (ref, ctx) => getAgent(ctx.db, tenantOf(ctx), ref.id),
});

const agentFields = {
  role: 'The job title, e.g. "Support agent".',
  persona: 'How the employee comes across: tone, manner.',
  jobDescription: 'What the job is.',
  statementOfWork: 'What the employee does and does not do.',
  systemPrompt: 'Instructions given to the model before every conversation.',
} as const;

const CreateAgentInput = builder.inputType('CreateAgentInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: '1–120 characters.' }),
    role: t.string({ description: agentFields.role }),
    persona: t.string({ description: agentFields.persona }),
    jobDescription: t.string({ description: agentFields.jobDescription }),
    statementOfWork: t.string({ description: agentFields.statementOfWork }),
    systemPrompt: t.string({ description: agentFields.systemPrompt }),
    businessFunctions: t.stringList({ description: 'At most 20, each 1–200 characters.' }),
    modelPreferences: t.field({ type: 'JSON' }),
    onBudgetExhausted: t.field({ type: BudgetExhaustedActionEnum }),
    status: t.field({ type: AgentStatusEnum }),
  }),
});

const UpdateAgentInput = builder.inputType('UpdateAgentInput', {
  description: 'Only the fields given change; null leaves a field as it is.',
  fields: (t) => ({
    name: t.string(),
    role: t.string({ description: agentFields.role }),
    persona: t.string({ description: agentFields.persona }),
    jobDescription: t.string({ description: agentFields.jobDescription }),
    statementOfWork: t.string({ description: agentFields.statementOfWork }),
    systemPrompt: t.string({ description: agentFields.systemPrompt }),
    businessFunctions: t.stringList(),
    modelPreferences: t.field({ type: 'JSON' }),
    onBudgetExhausted: t.field({ type: BudgetExhaustedActionEnum }),
    status: t.field({ type: AgentStatusEnum }),
  }),
});

const CreateAgentResult = builder.unionType('CreateAgentResult', {
  types: [AgentRef, ValidationError],
  resolveType: resolveResult('Agent'),
});
const UpdateAgentResult = builder.unionType('UpdateAgentResult', {
  types: [AgentRef, ValidationError, NotFound],
  resolveType: resolveResult('Agent'),
});
const DeleteAgentResult = builder.unionType('DeleteAgentResult', {
  types: [DeletedAgent, NotFound],
  resolveType: resolveResult('DeletedAgent'),
});
const AssignToolResult = builder.unionType('AssignToolResult', {
  types: [AgentRef, NotFound],
  resolveType: resolveResult('Agent'),
});
const UnassignToolResult = builder.unionType('UnassignToolResult', {
  types: [AgentRef, NotFound],
  resolveType: resolveResult('Agent'),
});

builder.queryFields((t) => ({
  agent: t.field({
    type: AgentRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => getAgent(ctx.db, tenantOf(ctx), String(id)),
  }),
  agents: t.field({
    type: AgentPage,
    args: pageArgs,
    resolve: (_root, args, ctx) => listAgents(ctx.db, tenantOf(ctx), args),
  }),
}));

builder.mutationFields((t) => ({
  createAgent: t.field({
    type: CreateAgentResult,
    args: { input: t.arg({ type: CreateAgentInput, required: true }) },
    resolve: (_root, { input }, ctx) => createAgent(ctx.db, tenantForWrite(ctx), input),
  }),
  updateAgent: t.field({
    type: UpdateAgentResult,
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateAgentInput, required: true }) },
    resolve: (_root, { id, input }, ctx) => updateAgent(ctx.db, tenantForWrite(ctx), String(id), input),
  }),
  deleteAgent: t.field({
    type: DeleteAgentResult,
    description: 'Deletes the agent with its tool assignments, escalation rules, conversations and handoffs.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => deleteAgent(ctx.db, tenantForWrite(ctx), String(id)),
  }),
  assignTool: t.field({
    type: AssignToolResult,
    description: 'Gives the agent a tool; assigning twice is harmless.',
    args: { agentId: t.arg.id({ required: true }), toolId: t.arg.id({ required: true }) },
    resolve: (_root, { agentId, toolId }, ctx) => setToolAssignment(ctx.db, tenantForWrite(ctx), String(agentId), String(toolId), true),
  }),
  unassignTool: t.field({
    type: UnassignToolResult,
    description: 'Takes a tool away from the agent; unassigning a tool it does not have is harmless.',
    args: { agentId: t.arg.id({ required: true }), toolId: t.arg.id({ required: true }) },
    resolve: (_root, { agentId, toolId }, ctx) => setToolAssignment(ctx.db, tenantForWrite(ctx), String(agentId), String(toolId), false),
  }),
}));
