import type { enums } from '@konstruct/db';
import { chars, invalid, isPlainObject, jsonBytes, type Checked, type FieldError } from './field-error.ts';

export const RULE_LIMITS = {
  pattern: 2_000,
  targetBytes: 4 * 1024,
  priority: { min: -1000, max: 1000 },
  threshold: { min: 1, max: 1000 },
} as const;

export interface RuleState {
  trigger: enums.EscalationTrigger;
  pattern: string | null;
  threshold: number | null;
  target: unknown;
  priority: number;
  enabled: boolean;
}

/** What a client sends; on update null or absent means "leave as is". */
export interface EscalationRuleInput {
  trigger?: enums.EscalationTrigger | null;
  pattern?: string | null;
  threshold?: number | null;
  target?: unknown;
  priority?: number | null;
  enabled?: boolean | null;
}

export const RULE_DEFAULTS: Omit<RuleState, 'trigger'> = { pattern: null, threshold: null, target: {}, priority: 0, enabled: true };

/** Merges the input over the current rule (or the defaults) and checks the whole. */
export function applyRuleInput(current: RuleState | null, input: EscalationRuleInput): Checked<RuleState> {
  if (!current && input.trigger == null) return invalid('trigger', 'trigger is required');
  const base: RuleState = current ?? { ...RULE_DEFAULTS, trigger: input.trigger ?? 'keyword' };
  const state: RuleState = {
    trigger: input.trigger ?? base.trigger,
    pattern: input.pattern ?? base.pattern,
    threshold: input.threshold ?? base.threshold,
    target: input.target ?? base.target,
    priority: input.priority ?? base.priority,
    enabled: input.enabled ?? base.enabled,
  };
  const problem = checkRuleState(state);
  return problem ? { ok: false, error: problem } : { ok: true, value: state };
}

export function checkRuleState(s: RuleState): FieldError | null {
  if (s.pattern != null && chars(s.pattern) > RULE_LIMITS.pattern)
    return { field: 'pattern', message: `pattern must be at most ${RULE_LIMITS.pattern} characters` };
  if (s.trigger === 'keyword' && !s.pattern?.trim())
    return { field: 'pattern', message: 'a keyword rule needs at least one keyword in pattern' };
  if (s.trigger === 'pattern') {
    if (!s.pattern) return { field: 'pattern', message: 'a pattern rule needs a regular expression in pattern' };
    const bad = regexError(s.pattern);
    if (bad) return { field: 'pattern', message: `pattern is not a valid regular expression: ${bad}` };
  }
  const { threshold: th, priority: pr } = RULE_LIMITS;
  if (s.trigger === 'tool_failures' && s.threshold == null)
    return { field: 'threshold', message: 'a tool_failures rule needs a threshold (failures before escalating)' };
  if (s.threshold != null && (!Number.isInteger(s.threshold) || s.threshold < th.min || s.threshold > th.max))
    return { field: 'threshold', message: `threshold must be an integer from ${th.min} to ${th.max}` };
  if (!Number.isInteger(s.priority) || s.priority < pr.min || s.priority > pr.max)
    return { field: 'priority', message: `priority must be an integer from ${pr.min} to ${pr.max}` };
  if (!isPlainObject(s.target)) return { field: 'target', message: 'target must be a JSON object' };
  if (jsonBytes(s.target) > RULE_LIMITS.targetBytes)
    return { field: 'target', message: `target must be at most ${RULE_LIMITS.targetBytes} bytes` };
  return null;
}

function regexError(pattern: string): string | null {
  try {
    new RegExp(pattern, 'i');
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}
