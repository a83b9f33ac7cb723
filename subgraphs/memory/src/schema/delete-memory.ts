import { notFound, tenantForWrite } from '@konstruct/graphql';
import { NotFound, builder } from '../builder.ts';
import { deleteMemory } from '../domain/memories.ts';

// Shareable: a plain "this id is gone" result that other subgraphs may declare identically.
const Deleted = builder.objectRef<{ __typename: 'Deleted'; id: string }>('Deleted').implement({
  shareable: true,
  fields: (t) => ({ id: t.exposeID('id') }),
});

const DeleteMemoryResult = builder.unionType('DeleteMemoryResult', {
  types: [Deleted, NotFound],
  resolveType: (v) => (v as { __typename: string }).__typename,
});

builder.mutationField('deleteMemory', (t) =>
  t.field({
    type: DeleteMemoryResult,
    description: 'Removes one memory. Another tenant\'s id is NotFound, like an unknown one.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const id = String(args.id);
      return (await deleteMemory(tenantForWrite(ctx), ctx.db, id))
        ? { __typename: 'Deleted' as const, id }
        : notFound('memory', id);
    },
  }),
);
