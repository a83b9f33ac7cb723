import type { Prisma, TenantTx } from '@konstruct/db';

export type SubscriptionRow = Prisma.SubscriptionGetPayload<{ include: { plan: true } }>;

/** Stripe statuses after which a subscription no longer counts as the tenant's current one. */
const ENDED = new Set(['canceled', 'incomplete_expired']);

/**
 * The tenant's current subscription: the newest one that has not ended, else the newest one
 * (so a lapsed tenant still sees what it had), else none.
 */
export async function currentSubscription(tx: TenantTx): Promise<SubscriptionRow | null> {
  const recent = await tx.subscription.findMany({
    include: { plan: true },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: 20,
  });
  return recent.find((s) => !ENDED.has(s.status)) ?? recent[0] ?? null;
}
