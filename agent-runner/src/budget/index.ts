export type {
  BudgetAction,
  BudgetExhausted,
  BudgetHold,
  BudgetPeriod,
  BudgetScopeKind,
  BudgetUnit,
  Reservation,
  ReserveRequest,
  ReserveResult,
  UsageAmounts,
} from './types.ts';
export { windowStart, windowEnd } from './periods.ts';
export { estimateCall, actualUsage, promptTokenBound, TOKEN_ALLOWANCE, type CallEstimate, type CallEstimateInput } from './estimate.ts';
export {
  BudgetLedger,
  DEFAULT_HOLD_TTL_MS,
  DEFAULT_EXPIRED_RETENTION_MS,
  type BudgetLedgerOptions,
  type SettledCall,
  type SettleResult,
} from './ledger.ts';
export {
  onExhausted,
  cheaperModel,
  budgetRefusalReply,
  budgetHandoffReason,
  type ExhaustionDecision,
  type ExhaustionContext,
  type BudgetedAgent,
} from './policy.ts';
export { budgetBlockedAudit, type BudgetBlockedArgs } from './audit.ts';
