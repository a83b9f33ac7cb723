import { err, ok, type Result } from '@konstruct/core';
import { isUuid } from './ids.ts';

export interface InputProblem {
  message: string;
  field: string;
}

const INT8_MAX = 9_223_372_036_854_775_807n;

/**
 * A budget limit: a whole number of tokens or micro-dollars, as a decimal string so large
 * values survive JSON. Zero is allowed: it means "nothing may be spent".
 */
export function parseBudgetLimit(raw: string): Result<bigint, InputProblem> {
  const s = raw.trim();
  if (!/^\d{1,19}$/.test(s)) return err({ message: 'limit must be a whole number (tokens or micro-dollars)', field: 'limit' });
  const n = BigInt(s);
  if (n > INT8_MAX) return err({ message: 'limit is too large', field: 'limit' });
  return ok(n);
}

export function checkAgentId(agentId: string | null | undefined): InputProblem | null {
  if (agentId == null) return null;
  return isUuid(agentId) ? null : { message: 'agentId is not a valid id', field: 'agentId' };
}
