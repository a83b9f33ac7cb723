import { clampFirst, tenantOf } from '@konstruct/graphql';
import { builder } from '../builder.ts';
import { listMemories } from '../domain/memories.ts';
import { MemoryItemPage, parseAfter } from './memory-item.ts';

// Agent is owned by the agent subgraph; memory only adds what the agent remembers. The
// reference is not checked here: an id from another tenant has no memories under its RLS.
builder.externalRef('Agent', builder.selection<{ id: string }>('id'), (ref) => ref).implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    memories: t.field({
      type: MemoryItemPage,
      description: 'What this agent remembers, newest first.',
      args: {
        first: t.arg.int({ required: false, description: '1–100, default 20.' }),
        after: t.arg.string({ required: false }),
      },
      resolve: (agent, args, ctx) =>
        listMemories(tenantOf(ctx), ctx.db, { agentId: agent.id, first: clampFirst(args.first), after: parseAfter(args.after) }),
    }),
  }),
});
