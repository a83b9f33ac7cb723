import { clampFirst, tenantOf } from '@konstruct/graphql';
import { builder } from '../builder.ts';
import { involving, listAuditEvents } from '../domain/audit-events.ts';
import { AuditEventPage, parseAfter } from './audit-event.ts';

// Agent is owned by the agent subgraph; audit only adds the agent's trail. The reference is
// not checked here: an id from another tenant simply has no events under this tenant's RLS.
builder.externalRef('Agent', builder.selection<{ id: string }>('id'), (ref) => ref).implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    auditEvents: t.field({
      type: AuditEventPage,
      description: 'Events this agent acted in or was the subject of, newest first.',
      args: {
        first: t.arg.int({ required: false, description: '1–100, default 20.' }),
        after: t.arg.string({ required: false }),
      },
      resolve: (agent, args, ctx) =>
        listAuditEvents(tenantOf(ctx), ctx.db, { where: involving(agent.id), first: clampFirst(args.first), after: parseAfter(args.after) }),
    }),
  }),
});
