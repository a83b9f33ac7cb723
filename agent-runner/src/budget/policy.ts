import { parseDeployment, type Deployment } from '../llm/deployments.ts';
import { priceOf, type Price } from '../llm/prices.ts';
import type { ProviderName } from '../llm/types.ts';
import type { BudgetAction, BudgetExhausted } from './types.ts';

export type ExhaustionDecision =
  | { action: 'refuse'; reply: string }
  | { action: 'cheaper_model'; model: string }
  | { action: 'handoff'; reason: string };

/** What the decision needs of the agent. */
export interface BudgetedAgent {
  name: string;
  onBudgetExhausted: BudgetAction;
}

export interface ExhaustionContext {
  /** The deployment of the refused call (`provider:model`, or a bare OpenAI model name). */
  current: string;
  /**
   * Where a cheaper model may come from, in preference order: e.g. the agent's fallback chain
   * followed by a platform group configured for budget fallbacks. Unknown prices are skipped.
   */
  candidates: readonly string[];
  /** The refused call already was the cheaper model: refuse rather than downgrade forever. */
  downgraded?: boolean;
  price?: (provider: ProviderName, model: string) => Price | null;
  /** The usage mix used to compare models; default 3 000 input and 1 000 output tokens. */
  reference?: { inputTokens: number; outputTokens: number };
}

const REFERENCE = { inputTokens: 3_000, outputTokens: 1_000 };

/**
 * What to do when a budget refused a call, per the agent's `onBudgetExhausted`:
 *
 * - `refuse`: a polite reply for the end user (no amounts, no budget names).
 * - `handoff`: hand the conversation to a person; `reason` is for the operator and the
 *   escalation record.
 * - `cheaper_model`: the cheapest candidate that is strictly cheaper than the refused model
 *   and can pass the budget that refused. The call must be reserved again with that model's
 *   estimate; it can still be refused, and then the answer is `refuse`. Which models can pass:
 *     · the budget has room left but not enough for the estimate (`does_not_fit`, only seen
 *       with requireFit): any cheaper model — in money its estimate is smaller; in tokens it is
 *       not, but it is admitted as the one call allowed to cross the limit, at a lower price;
 *     · no room left in a money budget: only a model that costs nothing (a platform Ollama
 *       model), since any paid call would spend beyond the limit;
 *     · no room left in a tokens budget: nothing — every model uses tokens — so `refuse`.
 *   No candidate qualifies, or this already was the downgraded call: `refuse`.
 */
export function onExhausted(agent: BudgetedAgent, exhausted: BudgetExhausted, ctx: ExhaustionContext): ExhaustionDecision {
  const refuse = (): ExhaustionDecision => ({ action: 'refuse', reply: budgetRefusalReply(agent.name, exhausted) });
  switch (agent.onBudgetExhausted) {
    case 'refuse':
      return refuse();
    case 'handoff':
      return { action: 'handoff', reason: budgetHandoffReason(exhausted) };
    case 'cheaper_model': {
      if (ctx.downgraded) return refuse();
      if (exhausted.reason === 'no_room' && exhausted.unit === 'tokens') return refuse();
      const model = cheaperModel(ctx, exhausted.reason === 'no_room');
      return model ? { action: 'cheaper_model', model } : refuse();
    }
  }
}

/** The cheapest candidate strictly cheaper than `ctx.current` (free only, when `freeOnly`). */
export function cheaperModel(ctx: ExhaustionContext, freeOnly = false): string | null {
  const price = ctx.price ?? priceOf;
  const ref = ctx.reference ?? REFERENCE;
  const costOf = (d: Deployment): number | null => {
    const p = price(d.provider, d.model);
    return p ? ref.inputTokens * p.input + ref.outputTokens * p.output : null;
  };
  const current = parseDeployment(ctx.current);
  // An unpriced current model cannot be shown to be dearer than anything: only free models beat it.
  const currentCost = current ? costOf(current) : null;
  let best: { id: string; cost: number } | null = null;
  for (const spec of ctx.candidates) {
    const d = parseDeployment(spec);
    if (!d || (current && d.id === current.id)) continue;
    const cost = costOf(d);
    if (cost === null) continue;
    if (freeOnly ? cost !== 0 : currentCost === null ? cost !== 0 : cost >= currentCost) continue;
    if (!best || cost < best.cost) best = { id: d.id, cost };
  }
  return best?.id ?? null;
}

/** For the end user: polite, says when to come back, never shows amounts or budget names. */
export function budgetRefusalReply(agentName: string, exhausted: BudgetExhausted): string {
  // Room is only held by calls still running: a few minutes will do.
  if (exhausted.spent < exhausted.limit) {
    return `Sorry, ${agentName} is handling a lot of requests right now and can't answer this one. Please try again in a few minutes.`;
  }
  const when = exhausted.period === 'day' ? 'today' : 'this month';
  const back = exhausted.period === 'day' ? 'tomorrow' : 'next month';
  return `Sorry, ${agentName} has reached its usage limit for ${when} and can't answer right now. Please try again ${back}, or contact the team directly if it's urgent.`;
}

/** For the operator and the handoff record. */
export function budgetHandoffReason(e: BudgetExhausted): string {
  const who = e.scope === 'agent' ? "the agent's" : "the tenant's";
  const unit = e.unit === 'tokens' ? 'token' : 'money';
  const state = e.reason === 'no_room' ? 'is used up' : 'cannot fit the call';
  return `budget exhausted: ${who} ${e.period === 'day' ? 'daily' : 'monthly'} ${unit} budget ${state} (spent ${e.spent} + reserved ${e.reserved} of ${e.limit} ${e.unit}; resets ${e.resetsAt.toISOString()})`;
}
