import { tenantForWrite } from '@konstruct/graphql';
import { builder } from '../builder.ts';
import { forgetEndUser } from '../domain/memories.ts';

const ForgetResult = builder.objectRef<{ deletedCount: number }>('ForgetResult').implement({
  fields: (t) => ({ deletedCount: t.exposeInt('deletedCount') }),
});

builder.mutationField('forgetEndUser', (t) =>
  t.field({
    type: ForgetResult,
    description: 'The "forget me" request: deletes everything the agent remembers about one end user.',
    args: {
      agentId: t.arg.id({ required: true }),
      endUserExternalId: t.arg.string({ required: true }),
    },
    resolve: async (_root, args, ctx) => ({
      deletedCount: await forgetEndUser(tenantForWrite(ctx), ctx.db, String(args.agentId), args.endUserExternalId),
    }),
  }),
);
