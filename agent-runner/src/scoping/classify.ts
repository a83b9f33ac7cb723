import { CATEGORY_RULES, normalizeForPatterns, type ScopeCategory } from './categories.ts';
import { contentStems, sharedStems, stem } from './relevance.ts';

export type ScopeDecision =
  | {
      decision: 'in_scope';
      /**
       * - `no_category`: nothing marks it as a general-purpose request (the usual customer message).
       * - `covered`: it matched a category the business functions include (a tutor and homework).
       * - `relevant`: it matched a broad category but is about the business (shared words, or "your …").
       */
      reason: 'no_category' | 'covered' | 'relevant';
      category?: ScopeCategory;
      /** Content words shared with the business functions, when they decided. */
      shared?: string[];
    }
  | {
      decision: 'out_of_scope';
      category: ScopeCategory;
      /**
       * Which pattern matched (`<category>/<index>`), to tune the rules. Never the matched text:
       * the audit trail is append-only and must not keep what the customer wrote.
       */
      rule: string;
    };

// Asking about the business's own things ("who founded your company?") is about the business.
const ADDRESSES_THE_BUSINESS = /\b(your|yours|ur)\b/;

/**
 * The deterministic scoping decision for a message to an agent with these business functions:
 * out of scope only when the message matches a general-purpose category that the functions do
 * not cover and (for broad categories) that is not about the business. Anything that matches no
 * category is in scope — greetings, order numbers and "is anyone there?" must never be refused.
 */
export function classifyScope(text: string, businessFunctions: readonly string[]): ScopeDecision {
  const normalized = normalizeForPatterns(text);
  if (!normalized) return { decision: 'in_scope', reason: 'no_category' };
  const functionStems = contentStems(businessFunctions.join(' \n '));

  for (const rule of CATEGORY_RULES) {
    const index = rule.patterns.findIndex((p) => p.test(normalized));
    if (index < 0) continue;
    if (rule.coveredBy.some((w) => functionStems.has(stem(w)))) {
      return { decision: 'in_scope', reason: 'covered', category: rule.category };
    }
    if (rule.soft) {
      const shared = sharedStems(normalized, businessFunctions);
      if (shared.length > 0) return { decision: 'in_scope', reason: 'relevant', category: rule.category, shared };
      if (ADDRESSES_THE_BUSINESS.test(normalized)) return { decision: 'in_scope', reason: 'relevant', category: rule.category };
    }
    return { decision: 'out_of_scope', category: rule.category, rule: `${rule.category}/${index}` };
  }
  return { decision: 'in_scope', reason: 'no_category' };
}
