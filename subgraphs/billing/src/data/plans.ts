import type { Prisma, TenantTx } from '@konstruct/db';

export type PlanRow = Prisma.PlanModel;

/** The plans on offer: the catalogue is global, so every tenant sees the same list. */
export function listPlans(tx: TenantTx): Promise<PlanRow[]> {
  return tx.plan.findMany({ where: { active: true }, orderBy: [{ monthlyPriceCents: 'asc' }, { code: 'asc' }] });
}

export function getPlan(tx: TenantTx, id: string): Promise<PlanRow | null> {
  return tx.plan.findUnique({ where: { id } });
}
