import { describe, expect, it } from 'vitest';
import type { Price } from '../llm/prices.ts';
import { budgetBlockedAudit } from './audit.ts';
import { budgetRefusalReply, cheaperModel, onExhausted, type ExhaustionContext } from './policy.ts';
import type { BudgetAction, BudgetExhausted } from './types.ts';

const exhausted = (over: Partial<BudgetExhausted> = {}): BudgetExhausted => ({
  budgetId: '3f1c0f5e-7a0b-4c39-9a55-0b7f3f0c2a11',
  scope: 'agent',
  period: 'day',
  unit: 'usd_micros',
  limit: 1_000_000n,
  spent: 1_000_000n,
  reserved: 0n,
  windowStart: new Date('2026-03-10T00:00:00Z'),
  resetsAt: new Date('2026-03-11T00:00:00Z'),
  reason: 'no_room',
  requested: 5_000n,
  ...over,
});

const chain = ['anthropic:claude-sonnet-4-5', 'openai:gpt-4o', 'openai:gpt-4o-mini', 'ollama:llama3.1', 'openai:mystery-model'];
const ctx = (over: Partial<ExhaustionContext> = {}): ExhaustionContext => ({ current: 'openai:gpt-4o', candidates: chain, ...over });
const agent = (onBudgetExhausted: BudgetAction) => ({ name: 'Ava', onBudgetExhausted });

const DAY_REPLY = "Sorry, Ava has reached its usage limit for today and can't answer right now. Please try again tomorrow, or contact the team directly if it's urgent.";
const MONTH_REPLY = "Sorry, Ava has reached its usage limit for this month and can't answer right now. Please try again next month, or contact the team directly if it's urgent.";
const BUSY_REPLY = "Sorry, Ava is handling a lot of requests right now and can't answer this one. Please try again in a few minutes.";

describe('onExhausted decision table', () => {
  it.each([
    // policy, exhausted, context → decision
    ['refuse', exhausted(), ctx(), { action: 'refuse', reply: DAY_REPLY }],
    ['refuse', exhausted({ period: 'month', unit: 'tokens' }), ctx(), { action: 'refuse', reply: MONTH_REPLY }],
    ['refuse', exhausted({ spent: 400_000n, reserved: 600_000n }), ctx(), { action: 'refuse', reply: BUSY_REPLY }],
    ['handoff', exhausted(), ctx(), {
      action: 'handoff',
      reason: "budget exhausted: the agent's daily money budget is used up (spent 1000000 + reserved 0 of 1000000 usd_micros; resets 2026-03-11T00:00:00.000Z)",
    }],
    ['handoff', exhausted({ scope: 'tenant', period: 'month', unit: 'tokens', reason: 'does_not_fit', spent: 10n, reserved: 5n, limit: 20n }), ctx(), {
      action: 'handoff',
      reason: "budget exhausted: the tenant's monthly token budget cannot fit the call (spent 10 + reserved 5 of 20 tokens; resets 2026-03-11T00:00:00.000Z)",
    }],
    // Money used up: only a free model can pass.
    ['cheaper_model', exhausted(), ctx(), { action: 'cheaper_model', model: 'ollama:llama3.1' }],
    ['cheaper_model', exhausted(), ctx({ candidates: ['openai:gpt-4o-mini', 'anthropic:claude-3-haiku'] }), { action: 'refuse', reply: DAY_REPLY }],
    // Money left but not enough for this call: the cheapest cheaper model.
    ['cheaper_model', exhausted({ reason: 'does_not_fit', spent: 900_000n }), ctx(), { action: 'cheaper_model', model: 'ollama:llama3.1' }],
    ['cheaper_model', exhausted({ reason: 'does_not_fit', spent: 900_000n }), ctx({ candidates: chain.filter((c) => !c.startsWith('ollama')) }), { action: 'cheaper_model', model: 'openai:gpt-4o-mini' }],
    // Nothing cheaper than the current model.
    ['cheaper_model', exhausted({ reason: 'does_not_fit', spent: 900_000n }), ctx({ current: 'openai:gpt-4o-mini', candidates: ['openai:gpt-4o', 'anthropic:claude-sonnet-4-5'] }), { action: 'refuse', reply: BUSY_REPLY }],
    // Tokens used up: no model helps.
    ['cheaper_model', exhausted({ unit: 'tokens' }), ctx(), { action: 'refuse', reply: DAY_REPLY }],
    // Tokens left but the call does not fit: a cheaper model may take the crossing call.
    ['cheaper_model', exhausted({ unit: 'tokens', reason: 'does_not_fit', spent: 900_000n }), ctx(), { action: 'cheaper_model', model: 'ollama:llama3.1' }],
    // The downgraded call was refused too: stop.
    ['cheaper_model', exhausted({ reason: 'does_not_fit', spent: 900_000n }), ctx({ current: 'openai:gpt-4o-mini', downgraded: true }), { action: 'refuse', reply: BUSY_REPLY }],
  ] as const)('%s with %o', (policy, e, c, decision) => {
    expect(onExhausted(agent(policy), e, c)).toEqual(decision);
  });
});

describe('cheaperModel', () => {
  it('compares at the reference usage mix, skips unknown prices and the current model, accepts bare OpenAI names', () => {
    expect(cheaperModel({ current: 'gpt-4o', candidates: ['gpt-4o', 'mystery', 'gpt-4.1-mini', 'gpt-4o-mini'] })).toBe('openai:gpt-4o-mini');
    // Output-heavy mix flips the order between two made-up models.
    const price = (_p: string, model: string): Price | null =>
      ({ a: { input: 1, output: 10, cacheRead: 0, cacheWrite: 1 }, b: { input: 5, output: 2, cacheRead: 0, cacheWrite: 5 }, cur: { input: 20, output: 20, cacheRead: 0, cacheWrite: 20 } })[model] ?? null;
    expect(cheaperModel({ current: 'openai:cur', candidates: ['openai:a', 'openai:b'], price })).toBe('openai:a');
    expect(cheaperModel({ current: 'openai:cur', candidates: ['openai:a', 'openai:b'], price, reference: { inputTokens: 100, outputTokens: 1_000 } })).toBe('openai:b');
    // An unpriced current model: only a free one is known to be cheaper.
    expect(cheaperModel({ current: 'openai:mystery', candidates: ['openai:gpt-4o-mini'] })).toBeNull();
    expect(cheaperModel({ current: 'openai:mystery', candidates: ['openai:gpt-4o-mini', 'ollama:qwen2.5'] })).toBe('ollama:qwen2.5');
  });

  it('never picks a model that is as expensive as the current one', () => {
    expect(cheaperModel({ current: 'anthropic:claude-sonnet-4-5', candidates: ['anthropic:claude-sonnet-4', 'anthropic:claude-3-7-sonnet'] })).toBeNull();
  });
});

describe('refusal reply', () => {
  it('never shows amounts, units or budget ids to the end user', () => {
    for (const e of [exhausted(), exhausted({ period: 'month', unit: 'tokens', scope: 'tenant' }), exhausted({ spent: 1n })]) {
      const text = budgetRefusalReply('Ava', e);
      expect(text).toMatch(/^Sorry, Ava /);
      expect(text).not.toMatch(/\d{3,}|usd|micro|token|budget|3f1c0f5e/i);
    }
  });
});

describe('budget.blocked audit entry', () => {
  it('names the budget as subject and carries the window state, the policy outcome and the message', () => {
    const e = exhausted({ reserved: 7n });
    const entry = budgetBlockedAudit({
      agentId: 'a1a1a1a1-0000-4000-8000-000000000001',
      exhausted: e,
      decision: { action: 'cheaper_model', model: 'ollama:llama3.1' },
      model: 'openai:gpt-4o',
      messageId: 'b2b2b2b2-0000-4000-8000-000000000002',
    });
    expect(entry).toEqual({
      actorKind: 'agent',
      actorId: 'a1a1a1a1-0000-4000-8000-000000000001',
      action: 'budget.blocked',
      subjectType: 'budget',
      subjectId: e.budgetId,
      data: {
        scope: 'agent', period: 'day', unit: 'usd_micros', limit: '1000000', spent: '1000000', reserved: '7', requested: '5000',
        reason: 'no_room', windowStart: '2026-03-10T00:00:00.000Z', resetsAt: '2026-03-11T00:00:00.000Z',
        model: 'openai:gpt-4o', action: 'cheaper_model', fallbackModel: 'ollama:llama3.1', messageId: 'b2b2b2b2-0000-4000-8000-000000000002',
      },
    });
    // JSON-safe as it is (no bigints), as the audit row's `data` must be.
    expect(JSON.parse(JSON.stringify(entry.data))).toEqual(entry.data);
    expect(budgetBlockedAudit({ agentId: 'x', exhausted: e, decision: { action: 'refuse', reply: 'r' }, model: 'm' }).data).not.toHaveProperty('fallbackModel');
  });
});
