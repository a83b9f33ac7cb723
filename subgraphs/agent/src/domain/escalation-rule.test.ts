import { describe, expect, it } from 'vitest';
import { applyRuleInput, type RuleState } from './escalation-rule.ts';

const fieldOf = (r: ReturnType<typeof applyRuleInput>) => (r.ok ? null : r.error.field);

describe('applyRuleInput', () => {
  it('requires a trigger on create and fills the defaults', () => {
    expect(fieldOf(applyRuleInput(null, {}))).toBe('trigger');
    expect(applyRuleInput(null, { trigger: 'user_request' })).toEqual({
      ok: true,
      value: { trigger: 'user_request', pattern: null, threshold: null, target: {}, priority: 0, enabled: true },
    });
  });

  it('needs keywords for a keyword trigger', () => {
    expect(fieldOf(applyRuleInput(null, { trigger: 'keyword' }))).toBe('pattern');
    expect(fieldOf(applyRuleInput(null, { trigger: 'keyword', pattern: '  ' }))).toBe('pattern');
    expect(applyRuleInput(null, { trigger: 'keyword', pattern: 'refund, lawyer' }).ok).toBe(true);
  });

  it('needs a valid regular expression for a pattern trigger', () => {
    expect(fieldOf(applyRuleInput(null, { trigger: 'pattern' }))).toBe('pattern');
    const bad = applyRuleInput(null, { trigger: 'pattern', pattern: '(unclosed' });
    expect(fieldOf(bad)).toBe('pattern');
    expect(!bad.ok && bad.error.message).toMatch(/not a valid regular expression/);
    expect(applyRuleInput(null, { trigger: 'pattern', pattern: '\\b(cancel|refund)\\b' }).ok).toBe(true);
    expect(fieldOf(applyRuleInput(null, { trigger: 'pattern', pattern: 'a'.repeat(2001) }))).toBe('pattern');
  });

  it('needs a threshold for tool failures, within bounds', () => {
    expect(fieldOf(applyRuleInput(null, { trigger: 'tool_failures' }))).toBe('threshold');
    expect(fieldOf(applyRuleInput(null, { trigger: 'tool_failures', threshold: 0 }))).toBe('threshold');
    expect(applyRuleInput(null, { trigger: 'tool_failures', threshold: 3 }).ok).toBe(true);
  });

  it('checks priority and target', () => {
    expect(fieldOf(applyRuleInput(null, { trigger: 'model_decides', priority: 1001 }))).toBe('priority');
    expect(fieldOf(applyRuleInput(null, { trigger: 'model_decides', target: ['C1'] }))).toBe('target');
    expect(fieldOf(applyRuleInput(null, { trigger: 'model_decides', target: { note: 'x'.repeat(5000) } }))).toBe('target');
  });

  it('checks an update against the stored rule', () => {
    const current: RuleState = { trigger: 'keyword', pattern: 'refund', threshold: null, target: {}, priority: 0, enabled: true };
    expect(applyRuleInput(current, { enabled: false })).toMatchObject({ ok: true, value: { pattern: 'refund', enabled: false } });
    expect(fieldOf(applyRuleInput(current, { trigger: 'pattern', pattern: '[' }))).toBe('pattern');
    expect(fieldOf(applyRuleInput(current, { trigger: 'tool_failures' }))).toBe('threshold');
  });
});
