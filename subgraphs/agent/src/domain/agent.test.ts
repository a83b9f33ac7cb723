import { describe, expect, it } from 'vitest';
import { validateAgentInput } from './agent.ts';

const fieldOf = (r: ReturnType<typeof validateAgentInput>) => (r.ok ? null : r.error.field);

describe('validateAgentInput', () => {
  it('needs a name of 1–120 characters on create, trimmed', () => {
    expect(fieldOf(validateAgentInput({}, 'create'))).toBe('name');
    expect(fieldOf(validateAgentInput({ name: '   ' }, 'create'))).toBe('name');
    expect(fieldOf(validateAgentInput({ name: 'x'.repeat(121) }, 'create'))).toBe('name');
    const ok = validateAgentInput({ name: `  ${'x'.repeat(120)}  ` }, 'create');
    expect(ok.ok && ok.value.name).toBe('x'.repeat(120));
  });

  it('counts characters, not UTF-16 units', () => {
    expect(validateAgentInput({ name: '😀'.repeat(120) }, 'create').ok).toBe(true);
  });

  it('on update, only the given fields change and null means unchanged', () => {
    const r = validateAgentInput({ name: null, systemPrompt: 'Be brief.', role: null }, 'update');
    expect(r).toEqual({ ok: true, value: { systemPrompt: 'Be brief.' } });
    expect(fieldOf(validateAgentInput({ name: '' }, 'update'))).toBe('name');
  });

  it('caps the long texts', () => {
    expect(validateAgentInput({ name: 'a', systemPrompt: 'p'.repeat(20_000) }, 'create').ok).toBe(true);
    expect(fieldOf(validateAgentInput({ name: 'a', systemPrompt: 'p'.repeat(20_001) }, 'create'))).toBe('systemPrompt');
    expect(fieldOf(validateAgentInput({ name: 'a', statementOfWork: 's'.repeat(20_001) }, 'create'))).toBe('statementOfWork');
    expect(fieldOf(validateAgentInput({ name: 'a', jobDescription: 'j'.repeat(10_001) }, 'create'))).toBe('jobDescription');
    expect(fieldOf(validateAgentInput({ name: 'a', persona: 'p'.repeat(5_001) }, 'create'))).toBe('persona');
    expect(fieldOf(validateAgentInput({ name: 'a', role: 'r'.repeat(201) }, 'create'))).toBe('role');
  });

  it('allows at most 20 business functions of 1–200 characters each', () => {
    const twenty = Array.from({ length: 20 }, (_, i) => `function ${i}`);
    expect(validateAgentInput({ name: 'a', businessFunctions: twenty }, 'create').ok).toBe(true);
    expect(fieldOf(validateAgentInput({ name: 'a', businessFunctions: [...twenty, 'one more'] }, 'create'))).toBe('businessFunctions');
    expect(fieldOf(validateAgentInput({ name: 'a', businessFunctions: ['ok', ' '] }, 'create'))).toBe('businessFunctions');
    expect(fieldOf(validateAgentInput({ name: 'a', businessFunctions: ['b'.repeat(201)] }, 'create'))).toBe('businessFunctions');
    const r = validateAgentInput({ name: 'a', businessFunctions: ['  support  '] }, 'create');
    expect(r.ok && r.value.businessFunctions).toEqual(['support']);
  });

  it('wants modelPreferences as an object with a list of model names', () => {
    expect(validateAgentInput({ name: 'a', modelPreferences: { group: 'default', models: ['openai:gpt-4o-mini'] } }, 'create').ok).toBe(true);
    for (const bad of [[], 'openai:gpt-4o', 42, { models: 'openai:gpt-4o' }, { models: [''] }, { group: 1 }, { x: 'y'.repeat(17_000) }]) {
      expect(fieldOf(validateAgentInput({ name: 'a', modelPreferences: bad }, 'create')), JSON.stringify(bad).slice(0, 40)).toBe(
        'modelPreferences',
      );
    }
  });
});
