/**
 * Which of an agent's escalation rules fire (AGNT-05). Pure: the turn loads the rules and asks
 * before the model (keyword, pattern, the user asking for a person) and after it (repeated tool
 * failure, the model unreachable); `model_decides` offers the model the handoff tool and
 * `budget_exhausted` is asked by the budget step.
 */

export type EscalationTrigger = 'keyword' | 'pattern' | 'user_request' | 'tool_failures' | 'budget_exhausted' | 'model_decides';

/** Where the humans are reached: a Slack channel of one of the tenant's Slack connections. */
export interface SlackTarget {
  kind: 'slack';
  connectionId: string;
  channel: string;
}

export interface EscalationRule {
  id: string;
  trigger: EscalationTrigger;
  pattern: string | null;
  threshold: number | null;
  target: unknown;
  priority: number;
}

export interface RuleMatch {
  rule: EscalationRule;
  target: SlackTarget;
  /** For the human and the audit trail: which rule fired and on what. */
  reason: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function parseTarget(value: unknown): SlackTarget | null {
  if (!value || typeof value !== 'object') return null;
  const t = value as Record<string, unknown>;
  if (t.kind !== 'slack' || typeof t.connectionId !== 'string' || !UUID.test(t.connectionId)) return null;
  if (typeof t.channel !== 'string' || !/^[A-Z0-9]{2,32}$/.test(t.channel)) return null;
  return { kind: 'slack', connectionId: t.connectionId, channel: t.channel };
}

/**
 * A person, not the bot: "talk to a person", "speak with a human", "can I get a real agent",
 * "human please", "representative". Deliberately narrow: "agent" alone (a travel agent) does not count.
 */
const ASKS_FOR_PERSON = [
  /\b(talk|speak|chat|connect|put|transfer|escalate)\b[^.?!]{0,30}\b(to|with|me)\b[^.?!]{0,20}\b(a |an |the |some |real |live |actual )*(person|human|people|agent|representative|operator|someone|somebody|manager|staff)\b/i,
  /\b(real|live|actual) (person|human|agent|people)\b/i,
  /^\W*(human|person|agent|representative|operator)( please| pls)?\W*$/i,
  /\b(i want|i need|i'd like|can i (get|have))\b[^.?!]{0,20}\b(a |an )?(human|person|representative)\b/i,
];

export function asksForPerson(text: string): boolean {
  return ASKS_FOR_PERSON.some((re) => re.test(text));
}

/** Keywords: comma- or newline-separated; each matches as a whole word or phrase, ignoring case. */
export function keywordHit(pattern: string | null, text: string): string | null {
  for (const raw of (pattern ?? '').split(/[,\n]/)) {
    const kw = raw.trim();
    if (!kw) continue;
    const escaped = kw.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+');
    if (new RegExp(`(^|[^\\p{L}\\p{N}])${escaped}($|[^\\p{L}\\p{N}])`, 'iu').test(text)) return kw;
  }
  return null;
}

/** A rule's regular expression, case-insensitive; an invalid one never matches (reported by `invalidPatterns`). */
export function patternHit(pattern: string | null, text: string): boolean {
  if (!pattern) return false;
  try {
    return new RegExp(pattern, 'iu').test(text);
  } catch {
    return false;
  }
}

export function invalidPatterns(rules: readonly EscalationRule[]): EscalationRule[] {
  return rules.filter((r) => {
    if (r.trigger !== 'pattern') return false;
    try {
      new RegExp(r.pattern ?? '', 'iu');
      return !r.pattern;
    } catch {
      return true;
    }
  });
}

const byPriority = (rules: readonly EscalationRule[]) => [...rules].sort((a, b) => b.priority - a.priority);

function withTarget(rule: EscalationRule, reason: string): RuleMatch | null {
  const target = parseTarget(rule.target);
  return target ? { rule, target, reason } : null;
}

/** The first rule (highest priority) that fires on the customer's message, before any model call. */
export function matchMessage(rules: readonly EscalationRule[], text: string): RuleMatch | null {
  for (const rule of byPriority(rules)) {
    let reason: string | null = null;
    if (rule.trigger === 'keyword') {
      const kw = keywordHit(rule.pattern, text);
      if (kw) reason = `the customer's message contains "${kw}"`;
    } else if (rule.trigger === 'pattern' && patternHit(rule.pattern, text)) {
      reason = `the customer's message matches /${rule.pattern}/`;
    } else if (rule.trigger === 'user_request' && asksForPerson(text)) {
      reason = 'the customer asked for a person';
    }
    const match = reason ? withTarget(rule, reason) : null;
    if (match) return match;
  }
  return null;
}

/** Repeated tool failure: `failures` in a row reached the rule's threshold (default 3). */
export function matchToolFailures(rules: readonly EscalationRule[], failures: number): RuleMatch | null {
  for (const rule of byPriority(rules)) {
    if (rule.trigger !== 'tool_failures') continue;
    const threshold = Math.max(1, rule.threshold ?? 3);
    if (failures < threshold) continue;
    const match = withTarget(rule, `${failures} tool calls failed in a row (threshold ${threshold})`);
    if (match) return match;
  }
  return null;
}

/** The first rule with this trigger and a usable target. */
export function ruleFor(rules: readonly EscalationRule[], trigger: EscalationTrigger, reason: string): RuleMatch | null {
  for (const rule of byPriority(rules)) {
    if (rule.trigger !== trigger) continue;
    const match = withTarget(rule, reason);
    if (match) return match;
  }
  return null;
}

/** `release` or `!release` (any case, optional trailing punctuation) written by a human in the handoff thread. */
export function isReleaseCommand(text: string): boolean {
  return /^\s*!?release\s*[.!]?\s*$/i.test(text.replace(/<@[A-Z0-9]+>/g, ''));
}
