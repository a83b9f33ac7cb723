import { describe, expect, it } from 'vitest';
import { asksForPerson, isReleaseCommand, keywordHit, matchMessage, matchToolFailures, parseTarget, type EscalationRule } from './rules.ts';

const target = { kind: 'slack', connectionId: '7f1c1a52-3a51-4b0e-9a57-2f3f4b1b2c3d', channel: 'C0HUMANS' };
const rule = (r: Partial<EscalationRule>): EscalationRule => ({ id: r.trigger ?? 'x', trigger: 'keyword', pattern: null, threshold: null, target, priority: 0, ...r });

describe('escalation rules', () => {
  it('matches keywords as whole words or phrases, ignoring case', () => {
    expect(keywordHit('refund, charge back', 'I want a REFUND now')).toBe('refund');
    expect(keywordHit('refund, charge back', 'a charge  back please')).toBe('charge back');
    expect(keywordHit('refund', 'refunded already')).toBeNull();
    expect(keywordHit('', 'anything')).toBeNull();
  });

  it('recognises a customer asking for a person, and not other mentions of agents', () => {
    for (const yes of ['Can I talk to a real person please?', 'let me speak with a human', 'human please', 'I want a human', 'connect me to an agent'])
      expect(asksForPerson(yes), yes).toBe(true);
    for (const no of ['my travel agent booked it', 'are you human?', 'what time do you open?']) expect(asksForPerson(no), no).toBe(false);
  });

  it('takes the highest-priority rule that fires and has a usable target', () => {
    const rules = [
      rule({ id: 'low', pattern: 'refund', priority: 1 }),
      rule({ id: 'high', trigger: 'pattern', pattern: 'order\\s*#\\d+', priority: 5 }),
      rule({ id: 'broken', pattern: 'refund', priority: 9, target: { kind: 'email' } }),
      rule({ id: 'bad-regex', trigger: 'pattern', pattern: '([', priority: 10 }),
    ];
    expect(matchMessage(rules, 'refund for order #12')?.rule.id).toBe('high');
    expect(matchMessage(rules, 'a refund please')?.rule.id).toBe('low');
    expect(matchMessage(rules, 'hello')).toBeNull();
  });

  it('fires on repeated tool failure at the threshold', () => {
    const rules = [rule({ trigger: 'tool_failures', threshold: 2 })];
    expect(matchToolFailures(rules, 1)).toBeNull();
    expect(matchToolFailures(rules, 2)?.reason).toMatch(/2 tool calls failed/);
  });

  it('validates targets and the release command', () => {
    expect(parseTarget(target)).toEqual(target);
    expect(parseTarget({ ...target, connectionId: 'nope' })).toBeNull();
    expect(parseTarget({ ...target, channel: '#humans' })).toBeNull();
    expect(isReleaseCommand('release')).toBe(true);
    expect(isReleaseCommand(' !Release. ')).toBe(true);
    expect(isReleaseCommand('<@U0BOTUSER> release')).toBe(true);
    expect(isReleaseCommand('please release my order')).toBe(false);
  });
});
