import { clampFirst, tenantOf } from '@konstruct/graphql';
import { builder } from '../builder.ts';
import { getAuditEvent, listAuditEvents } from '../domain/audit-events.ts';
import { AuditEvent, AuditEventPage, parseAfter } from './audit-event.ts';
import { AuditEventFilter } from './audit-event-filter.ts';

// Reading the log is open to every member of the tenant (viewers included); nothing here writes.
builder.queryFields((t) => ({
  auditEvents: t.field({
    type: AuditEventPage,
    description: 'The tenant\'s audit log, newest first.',
    args: {
      filter: t.arg({ type: AuditEventFilter, required: false }),
      first: t.arg.int({ required: false, description: '1–100, default 20.' }),
      after: t.arg.string({ required: false }),
    },
    resolve: (_root, args, ctx) =>
      listAuditEvents(tenantOf(ctx), ctx.db, { filter: args.filter, first: clampFirst(args.first), after: parseAfter(args.after) }),
  }),
  auditEvent: t.field({
    type: AuditEvent,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => getAuditEvent(tenantOf(ctx), ctx.db, String(args.id)),
  }),
}));
