import type { ChannelKind } from '@konstruct/core';
import { classifyScope, type ScopeDecision } from './classify.ts';
import type { ScopeCategory } from './categories.ts';

/**
 * An optional second opinion (e.g. a small model asked "is this within these functions?"),
 * consulted only for messages the deterministic classifier let through because nothing marked
 * them — it can refuse more, never allow what the patterns refused. `unsure` keeps the message.
 */
export interface ScopeSecondOpinion {
  judge(input: { text: string; businessFunctions: readonly string[] }): Promise<'in_scope' | 'out_of_scope' | 'unsure'>;
}

export type ScopeOutcome =
  /** Not a scoped channel: no decision was taken. */
  | { kind: 'unscoped' }
  | { kind: 'in_scope'; decision: Extract<ScopeDecision, { decision: 'in_scope' }> }
  /** `off_topic`: refused by the second opinion rather than a category rule. */
  | { kind: 'out_of_scope'; category: ScopeCategory | 'off_topic'; rule: string; reply: string };

/** Channels whose terms forbid a general-purpose assistant: the agent answers only within its business functions. */
export function isScopedChannel(kind: ChannelKind): boolean {
  return kind === 'whatsapp';
}

/**
 * The scoping step the runner takes before the main model call. On a scoped channel it decides
 * in or out of scope; out of scope comes with the short reply to send instead of the model's.
 * A failing second opinion never blocks a message: the deterministic decision stands.
 */
export async function scopeStep(
  input: { channel: ChannelKind; text: string; agentName: string; businessFunctions: readonly string[] },
  opts: { secondOpinion?: ScopeSecondOpinion; onSecondOpinionError?: (e: unknown) => void } = {},
): Promise<ScopeOutcome> {
  if (!isScopedChannel(input.channel)) return { kind: 'unscoped' };
  const decision = classifyScope(input.text, input.businessFunctions);
  if (decision.decision === 'out_of_scope') {
    return { kind: 'out_of_scope', category: decision.category, rule: decision.rule, reply: refusalReply(input.agentName, input.businessFunctions) };
  }
  if (decision.reason === 'no_category' && opts.secondOpinion && input.text.trim()) {
    try {
      const verdict = await opts.secondOpinion.judge({ text: input.text, businessFunctions: input.businessFunctions });
      if (verdict === 'out_of_scope') {
        return { kind: 'out_of_scope', category: 'off_topic', rule: 'second_opinion', reply: refusalReply(input.agentName, input.businessFunctions) };
      }
    } catch (e) {
      opts.onSecondOpinionError?.(e);
    }
  }
  return { kind: 'in_scope', decision };
}

const MAX_LISTED = 5;

/** Short, and names what the agent is for, so the customer knows what to ask instead. */
export function refusalReply(agentName: string, businessFunctions: readonly string[]): string {
  const functions = businessFunctions.map((f) => f.trim().replace(/[.;]+$/, '')).filter(Boolean);
  if (functions.length === 0) return `Sorry, that's not something ${agentName} can help with here.`;
  const listed = functions.slice(0, MAX_LISTED);
  const more = functions.length > MAX_LISTED ? ' and related questions' : '';
  const list = listed.length === 1 ? listed[0] : `${listed.slice(0, -1).join(', ')} and ${listed.at(-1)}`;
  return `Sorry, that's not something I can help with here. I can help you with ${list}${more}.`;
}

/** Added to the system prompt on scoped channels, so the model keeps to the same scope. */
export function scopeInstructions(businessFunctions: readonly string[]): string {
  const functions = businessFunctions.map((f) => f.trim()).filter(Boolean);
  const list = functions.length ? functions.map((f) => `- ${f}`).join('\n') : '- (none declared)';
  return [
    'This conversation is on WhatsApp, where you may act only for these business functions:',
    list,
    'Answer only requests within them. For anything else — poems or stories, homework or essays, general knowledge or trivia, code, translations, or acting as a general-purpose assistant — reply in one short sentence that you cannot help with that here and name what you can help with.',
  ].join('\n');
}
