import { tenantOf } from '@konstruct/graphql';
import { getAgent } from '../data/agents.ts';
import { getConversation, listConversations, listMessages } from '../data/conversations.ts';
import { builder } from '../builder.ts';
import { ChannelKindEnum, ConversationStateEnum } from './enums.ts';
import { pageArgs } from './page-args.ts';
import { AgentRef, ConversationPage, ConversationRef, MessagePage } from './refs.ts';

ConversationRef.implement({
  description: 'One thread (Slack) or chat (WhatsApp) between an agent and an end user.',
  fields: (t) => ({
    id: t.exposeID('id'),
    agentId: t.exposeID('agentId'),
    agent: t.field({
      type: AgentRef,
      nullable: true,
      resolve: (c, _args, ctx) => getAgent(ctx.db, tenantOf(ctx), c.agentId),
    }),
    connectionId: t.exposeID('connectionId'),
    channelKind: t.expose('channelKind', { type: ChannelKindEnum }),
    externalRef: t.exposeString('externalRef', { description: 'The channel-side key, e.g. slack:T1:C1:<thread ts>.' }),
    endUserExternalId: t.exposeString('endUserExternalId'),
    state: t.expose('state', { type: ConversationStateEnum }),
    lastInboundAt: t.expose('lastInboundAt', { type: 'DateTime', nullable: true }),
    lastMessageAt: t.expose('lastMessageAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    messages: t.field({
      type: MessagePage,
      description: 'Newest first.',
      args: pageArgs,
      resolve: (c, args, ctx) => listMessages(ctx.db, tenantOf(ctx), c.id, args),
    }),
  }),
});

builder.asEntity(ConversationRef, {
  key: builder.selection<{ id: string }>('id'),
  resolveReference: (ref, ctx) => getConversation(ctx.db, tenantOf(ctx), ref.id),
});

builder.queryFields((t) => ({
  conversation: t.field({
    type: ConversationRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => getConversation(ctx.db, tenantOf(ctx), String(id)),
  }),
  conversations: t.field({
    type: ConversationPage,
    description: 'Newest first; optionally one agent\'s, or in one state.',
    args: { agentId: t.arg.id(), state: t.arg({ type: ConversationStateEnum }), ...pageArgs },
    resolve: (_root, { agentId, state, ...page }, ctx) =>
      listConversations(ctx.db, tenantOf(ctx), { agentId: agentId == null ? null : String(agentId), state }, page),
  }),
}));
