import { notFound, validationError } from '@konstruct/graphql';
import type { Db, Prisma, TenantScope } from '@konstruct/db';
import { applyRuleInput, type EscalationRuleInput } from '../domain/escalation-rule.ts';
import { isUuid } from '../domain/field-error.ts';
import { asJson } from './prisma-errors.ts';

export type EscalationRuleRow = Prisma.EscalationRuleModel;

export async function getEscalationRule(db: Db, scope: TenantScope, id: string): Promise<EscalationRuleRow | null> {
  if (!isUuid(id)) return null;
  return db.withTenant(scope, (tx) => tx.escalationRule.findUnique({ where: { id } }));
}

/** In the order the runner evaluates them: highest priority first, then oldest. */
export async function agentEscalationRules(db: Db, scope: TenantScope, agentId: string) {
  return db.withTenant(scope, (tx) =>
    tx.escalationRule.findMany({ where: { agentId }, orderBy: [{ priority: 'desc' }, { createdAt: 'asc' }, { id: 'asc' }] }),
  );
}

export async function createEscalationRule(db: Db, scope: TenantScope, agentId: string, input: EscalationRuleInput) {
  const checked = applyRuleInput(null, input);
  if (!checked.ok) return validationError(checked.error.message, checked.error.field);
  if (!isUuid(agentId)) return notFound('Agent', agentId);
  const state = checked.value;
  return db.withTenant(scope, async (tx) => {
    // Looked up under the tenant first: the foreign key alone would accept another tenant's agent.
    const agent = await tx.agent.findUnique({ where: { id: agentId }, select: { id: true } });
    if (!agent) return notFound('Agent', agentId);
    return tx.escalationRule.create({
      data: { ...state, target: asJson(state.target), agentId, tenantId: scope.tenantId },
    });
  });
}

export async function updateEscalationRule(db: Db, scope: TenantScope, id: string, input: EscalationRuleInput) {
  if (!isUuid(id)) return notFound('EscalationRule', id);
  return db.withTenant(scope, async (tx) => {
    const current = await tx.escalationRule.findUnique({ where: { id } });
    if (!current) return notFound('EscalationRule', id);
    const checked = applyRuleInput(current, input);
    if (!checked.ok) return validationError(checked.error.message, checked.error.field);
    const state = checked.value;
    return tx.escalationRule.update({ where: { id }, data: { ...state, target: asJson(state.target) } });
  });
}

export async function deleteEscalationRule(db: Db, scope: TenantScope, id: string) {
  if (!isUuid(id)) return notFound('EscalationRule', id);
  const { count } = await db.withTenant(scope, (tx) => tx.escalationRule.deleteMany({ where: { id } }));
  return count === 0 ? notFound('EscalationRule', id) : { __typename: 'DeletedEscalationRule' as const, id };
}
