import { forbidden, tenantForWrite, tenantOf } from '@konstruct/graphql';
import { releaseHandoff } from '../data/handoffs.ts';
import { resolveResult } from './results.ts';
import { getAgent } from '../data/agents.ts';
import { getConversation, getHandoff, listHandoffs } from '../data/conversations.ts';
import { builder, NotFound } from '../builder.ts';
import { HandoffStatusEnum } from './enums.ts';
import { pageArgs } from './page-args.ts';
import { AgentRef, ConversationRef, HandoffPage, HandoffRef } from './refs.ts';

HandoffRef.implement({
  description: 'The agent handed a conversation to a person; it stays silent there until released.',
  fields: (t) => ({
    id: t.exposeID('id'),
    conversationId: t.exposeID('conversationId'),
    conversation: t.field({
      type: ConversationRef,
      nullable: true,
      resolve: (h, _args, ctx) => getConversation(ctx.db, tenantOf(ctx), h.conversationId),
    }),
    agentId: t.exposeID('agentId'),
    agent: t.field({
      type: AgentRef,
      nullable: true,
      resolve: (h, _args, ctx) => getAgent(ctx.db, tenantOf(ctx), h.agentId),
    }),
    ruleId: t.exposeID('ruleId', { nullable: true, description: 'The escalation rule that fired, if any.' }),
    reason: t.exposeString('reason'),
    summary: t.exposeString('summary'),
    status: t.expose('status', { type: HandoffStatusEnum }),
    humanThread: t.expose('humanThread', { type: 'JSON', description: 'Where the people talk, e.g. {"channel":"C…","ts":"…"}.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    releasedAt: t.expose('releasedAt', { type: 'DateTime', nullable: true }),
    releasedBy: t.exposeString('releasedBy', { nullable: true }),
  }),
});

builder.asEntity(HandoffRef, {
  key: builder.selection<{ id: string }>('id'),
  resolveReference: (ref, ctx) => getHandoff(ctx.db, tenantOf(ctx), ref.id),
});

builder.queryFields((t) => ({
  handoffs: t.field({
    type: HandoffPage,
    description: 'Newest first; optionally only open or only released ones.',
    args: { status: t.arg({ type: HandoffStatusEnum }), ...pageArgs },
    resolve: (_root, { status, ...page }, ctx) => listHandoffs(ctx.db, tenantOf(ctx), { status }, page),
  }),
}));

const ReleaseHandoffResult = builder.unionType('ReleaseHandoffResult', {
  types: [HandoffRef, NotFound],
  resolveType: resolveResult('Handoff'),
});

builder.mutationFields((t) => ({
  releaseHandoff: t.field({
    type: ReleaseHandoffResult,
    description: 'Hands the conversation back to its agent: it answers the customer again. Releasing twice changes nothing.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => {
      const scope = tenantForWrite(ctx);
      const actor = ctx.identity.actor;
      if (actor.kind === 'anonymous') throw forbidden('releasing a handoff needs an operator or an API key');
      return releaseHandoff(ctx.db, scope, String(id), actor);
    },
  }),
}));
