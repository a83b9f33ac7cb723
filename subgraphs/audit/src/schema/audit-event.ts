import { GraphQLError } from 'graphql';
import { tenantOf } from '@konstruct/graphql';
import { builder } from '../builder.ts';
import { getAuditEvent, type AuditEventRecord } from '../domain/audit-events.ts';
import { decodeOccurredCursor, type OccurredKey } from '../domain/cursor.ts';

export const AuditEvent = builder.objectRef<AuditEventRecord>('AuditEvent').implement({
  description: 'One entry of the tenant\'s append-only, hash-chained audit log.',
  fields: (t) => ({
    id: t.exposeID('id'),
    seq: t.string({
      description: 'Position in the tenant\'s chain, from 1 (a 64-bit integer, hence a string).',
      resolve: (e) => e.seq.toString(),
    }),
    occurredAt: t.expose('occurredAt', { type: 'DateTime' }),
    actorKind: t.exposeString('actorKind', { description: 'operator, api_key, agent, system, …' }),
    actorId: t.exposeString('actorId', { nullable: true }),
    action: t.exposeString('action', { description: 'Dotted verb, e.g. agent.updated.' }),
    subjectType: t.exposeString('subjectType', { nullable: true }),
    subjectId: t.exposeString('subjectId', { nullable: true }),
    data: t.expose('data', { type: 'JSON' }),
    prevHash: t.exposeString('prevHash', { description: 'Hash of the previous event (64 zeros for the first).' }),
    hash: t.exposeString('hash', { description: 'SHA-256 over prevHash and this event\'s contents.' }),
  }),
});

builder.asEntity(AuditEvent, {
  key: builder.selection<{ id: string }>('id'),
  // Another subgraph may hold a reference, but the caller's tenant decides what it resolves to.
  resolveReference: (ref, ctx) => getAuditEvent(tenantOf(ctx), ctx.db, ref.id),
});

export const AuditEventPage = builder.objectRef<{ items: AuditEventRecord[]; nextCursor: string | null }>('AuditEventPage').implement({
  description: 'A page of audit events, newest first.',
  fields: (t) => ({
    items: t.field({ type: [AuditEvent], resolve: (p) => p.items }),
    nextCursor: t.exposeString('nextCursor', {
      nullable: true,
      description: 'Pass as `after` for the next page; null on the last page.',
    }),
  }),
});

/** A client-supplied `after`; a cursor we did not issue is the caller's error, not page one. */
export function parseAfter(after: string | null | undefined): OccurredKey | null {
  if (after == null) return null;
  const key = decodeOccurredCursor(after);
  if (!key) throw new GraphQLError('invalid cursor in `after`', { extensions: { code: 'BAD_USER_INPUT' } });
  return key;
}
