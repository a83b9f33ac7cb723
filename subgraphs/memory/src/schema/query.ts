import { GraphQLError } from 'graphql';
import { clampFirst, tenantOf } from '@konstruct/graphql';
import { builder } from '../builder.ts';
import { SEARCH_LIMIT_DEFAULT, SEARCH_LIMIT_MAX, SEARCH_QUERY_MAX_CHARS, clampLimit, listMemories, searchMemories } from '../domain/memories.ts';
import { MemoryItemPage, parseAfter } from './memory-item.ts';
import { MemorySearchHit } from './memory-search-hit.ts';

// Reading memories is open to every member of the tenant; changing them needs admin.
builder.queryFields((t) => ({
  memories: t.field({
    type: MemoryItemPage,
    description: 'The tenant\'s memories, newest first, optionally for one agent and/or end user.',
    args: {
      agentId: t.arg.id({ required: false }),
      endUserExternalId: t.arg.string({ required: false }),
      first: t.arg.int({ required: false, description: '1–100, default 20.' }),
      after: t.arg.string({ required: false }),
    },
    resolve: (_root, args, ctx) =>
      listMemories(tenantOf(ctx), ctx.db, {
        agentId: args.agentId == null ? null : String(args.agentId),
        endUserExternalId: args.endUserExternalId,
        first: clampFirst(args.first),
        after: parseAfter(args.after),
      }),
  }),
  searchMemories: t.field({
    type: [MemorySearchHit],
    description: 'The agent\'s memories most similar to `query`, most similar first (exact nearest-neighbour search).',
    args: {
      agentId: t.arg.id({ required: true }),
      query: t.arg.string({ required: true }),
      endUserExternalId: t.arg.string({ required: false }),
      limit: t.arg.int({ required: false, description: `1–${SEARCH_LIMIT_MAX}, default ${SEARCH_LIMIT_DEFAULT}.` }),
    },
    resolve: (_root, args, ctx) => {
      const scope = tenantOf(ctx);
      if (args.query.length > SEARCH_QUERY_MAX_CHARS) {
        throw new GraphQLError(`query is longer than ${SEARCH_QUERY_MAX_CHARS} characters`, { extensions: { code: 'BAD_USER_INPUT' } });
      }
      return searchMemories(scope, ctx.db, {
        agentId: String(args.agentId),
        query: args.query,
        endUserExternalId: args.endUserExternalId,
        limit: clampLimit(args.limit),
      });
    },
  }),
}));
