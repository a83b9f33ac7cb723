import { tenantOf } from '@konstruct/graphql';
import { builder } from '../builder.ts';
import { verifyAuditChain, type ChainStatus } from '../domain/audit-events.ts';

const AuditChainStatus = builder.objectRef<ChainStatus>('AuditChainStatus').implement({
  description: 'Result of recomputing the tenant\'s hash chain in the database.',
  fields: (t) => ({
    intact: t.exposeBoolean('intact'),
    firstBrokenSeq: t.string({
      nullable: true,
      description: 'seq of the first event whose link or hash does not hold; null when intact.',
      resolve: (s) => s.firstBrokenSeq?.toString() ?? null,
    }),
    problem: t.exposeString('problem', { nullable: true }),
    eventsChecked: t.exposeInt('eventsChecked'),
  }),
});

builder.queryField('verifyAuditChain', (t) =>
  t.field({
    type: AuditChainStatus,
    description: 'Checks that no event of the tenant\'s log was changed, removed or reordered.',
    resolve: (_root, _args, ctx) => verifyAuditChain(tenantOf(ctx), ctx.db),
  }),
);
