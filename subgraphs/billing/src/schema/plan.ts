import { builder } from '../builder.ts';
import { listPlans, type PlanRow } from '../data/plans.ts';
import { centsToUsd } from '../domain/money.ts';
import { catalogScope } from './scope.ts';

export const Plan = builder.objectRef<PlanRow>('Plan').implement({
  description: 'A plan in the global catalogue.',
  fields: (t) => ({
    id: t.exposeID('id'),
    code: t.exposeString('code'),
    name: t.exposeString('name'),
    monthlyPriceCents: t.exposeInt('monthlyPriceCents'),
    monthlyPriceUsd: t.float({ resolve: (p) => centsToUsd(p.monthlyPriceCents) }),
    includedTokens: t.string({ description: 'Tokens included per month (a whole number, as a string).', resolve: (p) => p.includedTokens.toString() }),
    limits: t.field({ type: 'JSON', description: 'Plan limits (agents, channels, …) as a JSON object.', resolve: (p) => p.limits }),
    active: t.exposeBoolean('active'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryField('plans', (t) =>
  t.field({
    type: [Plan],
    description: 'Plans on offer, cheapest first. Readable by any authenticated caller.',
    resolve: (_root, _args, ctx) => ctx.db.withTenant(catalogScope(ctx), (tx) => listPlans(tx)),
  }),
);
