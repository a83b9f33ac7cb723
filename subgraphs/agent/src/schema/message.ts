import { tenantOf } from '@konstruct/graphql';
import { getMessage } from '../data/conversations.ts';
import { builder } from '../builder.ts';
import { DeliveryStateEnum, MessageAuthorEnum, MessageDirectionEnum } from './enums.ts';
import { MessageRef } from './refs.ts';

MessageRef.implement({
  description: 'One message in a conversation, inbound from the end user or outbound from the agent or a person.',
  fields: (t) => ({
    id: t.exposeID('id'),
    conversationId: t.exposeID('conversationId'),
    direction: t.expose('direction', { type: MessageDirectionEnum }),
    author: t.expose('author', { type: MessageAuthorEnum }),
    text: t.exposeString('text'),
    deliveryState: t.expose('deliveryState', { type: DeliveryStateEnum }),
    deliveryError: t.exposeString('deliveryError', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    sentAt: t.expose('sentAt', { type: 'DateTime', nullable: true }),
  }),
});

builder.asEntity(MessageRef, {
  key: builder.selection<{ id: string }>('id'),
  resolveReference: (ref, ctx) => getMessage(ctx.db, tenantOf(ctx), ref.id),
});
