import { GraphQLError } from 'graphql';
import { decodeCursor, tenantOf, type CursorKey } from '@konstruct/graphql';
import { builder } from '../builder.ts';
import { getMemory, type MemoryItemRecord } from '../domain/memories.ts';

export const MemoryItem = builder.objectRef<MemoryItemRecord>('MemoryItem').implement({
  description: 'Something an agent remembers about a conversation or an end user. The vector itself is never exposed.',
  fields: (t) => ({
    id: t.exposeID('id'),
    agentId: t.exposeID('agentId'),
    conversationId: t.exposeID('conversationId', { nullable: true }),
    endUserExternalId: t.exposeString('endUserExternalId', {
      nullable: true,
      description: 'The channel\'s id of the person it is about (Slack user, WhatsApp number).',
    }),
    text: t.exposeString('text'),
    embeddingModel: t.exposeString('embeddingModel'),
    metadata: t.expose('metadata', { type: 'JSON' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.asEntity(MemoryItem, {
  key: builder.selection<{ id: string }>('id'),
  // A reference from another subgraph resolves only within the caller's tenant.
  resolveReference: (ref, ctx) => getMemory(tenantOf(ctx), ctx.db, ref.id),
});

export const MemoryItemPage = builder.objectRef<{ items: MemoryItemRecord[]; nextCursor: string | null }>('MemoryItemPage').implement({
  description: 'A page of memories, newest first.',
  fields: (t) => ({
    items: t.field({ type: [MemoryItem], resolve: (p) => p.items }),
    nextCursor: t.exposeString('nextCursor', {
      nullable: true,
      description: 'Pass as `after` for the next page; null on the last page.',
    }),
  }),
});

/** A client-supplied `after`; a cursor we did not issue is the caller's error, not page one. */
export function parseAfter(after: string | null | undefined): CursorKey | null {
  if (after == null) return null;
  const key = decodeCursor(after);
  if (!key) throw new GraphQLError('invalid cursor in `after`', { extensions: { code: 'BAD_USER_INPUT' } });
  return key;
}
