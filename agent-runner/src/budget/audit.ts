import type { AuditEntry } from '../audit/recorder.ts';
import type { ExhaustionDecision } from './policy.ts';
import type { BudgetExhausted } from './types.ts';

export interface BudgetBlockedArgs {
  agentId: string;
  exhausted: BudgetExhausted;
  /** What the agent's policy decided. */
  decision: ExhaustionDecision;
  /** The deployment of the refused call. */
  model: string;
  /** The inbound message being answered. */
  messageId?: string;
  conversationId?: string;
}

/**
 * The `budget.blocked` audit entry for a refused reservation (record it with recordAudit, or
 * auditRow inside the reply's transaction). Amounts are strings: they are bigints.
 */
export function budgetBlockedAudit(a: BudgetBlockedArgs): AuditEntry {
  const e = a.exhausted;
  return {
    actorKind: 'agent',
    actorId: a.agentId,
    action: 'budget.blocked',
    subjectType: 'budget',
    subjectId: e.budgetId,
    data: {
      scope: e.scope,
      period: e.period,
      unit: e.unit,
      limit: e.limit.toString(),
      spent: e.spent.toString(),
      reserved: e.reserved.toString(),
      requested: e.requested.toString(),
      reason: e.reason,
      windowStart: e.windowStart.toISOString(),
      resetsAt: e.resetsAt.toISOString(),
      model: a.model,
      action: a.decision.action,
      ...(a.decision.action === 'cheaper_model' && { fallbackModel: a.decision.model }),
      ...(a.messageId && { messageId: a.messageId }),
      ...(a.conversationId && { conversationId: a.conversationId }),
    },
  };
}
