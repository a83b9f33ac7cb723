import { tenantOf } from '@konstruct/graphql';
import { builder } from '../builder.ts';
import { currentSubscription, type SubscriptionRow } from '../data/subscriptions.ts';
import { Plan } from './plan.ts';

/**
 * Named BillingSubscription because a type called `Subscription` is taken by GraphQL as the
 * root of subscription operations (the gateway serves those).
 */
export const BillingSubscription = builder.objectRef<SubscriptionRow>('BillingSubscription').implement({
  description: "The tenant's subscription to a plan.",
  fields: (t) => ({
    id: t.exposeID('id'),
    plan: t.field({ type: Plan, resolve: (s) => s.plan }),
    status: t.exposeString('status', { description: "Stripe's subscription status (active, trialing, past_due, canceled, …)." }),
    currentPeriodEnd: t.expose('currentPeriodEnd', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

builder.queryField('subscription', (t) =>
  t.field({
    type: BillingSubscription,
    nullable: true,
    description: "The tenant's current subscription; null when it has none.",
    resolve: (_root, _args, ctx) => ctx.db.withTenant(tenantOf(ctx), (tx) => currentSubscription(tx)),
  }),
);
