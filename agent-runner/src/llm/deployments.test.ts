import { describe, expect, it } from 'vitest';
import { parseDeployment, parseModelGroups, parsePreferences, resolveChain, type ModelGroups } from './deployments.ts';

const ids = (chain: { deployments: { id: string }[] }) => chain.deployments.map((d) => d.id);

function groups(json: object): ModelGroups {
  const r = parseModelGroups(JSON.stringify(json), 'gpt-4o-mini');
  if ('error' in r) throw new Error(r.error);
  return r.groups;
}

describe('parseDeployment', () => {
  it('reads provider:model, keeping colons inside the model name', () => {
    expect(parseDeployment('anthropic:claude-3-5-haiku-latest')).toEqual({ id: 'anthropic:claude-3-5-haiku-latest', provider: 'anthropic', model: 'claude-3-5-haiku-latest' });
    expect(parseDeployment('ollama:llama3.1:8b')).toEqual({ id: 'ollama:llama3.1:8b', provider: 'ollama', model: 'llama3.1:8b' });
  });

  it('treats a name without a provider prefix as an OpenAI model', () => {
    expect(parseDeployment('gpt-4o')).toMatchObject({ provider: 'openai', model: 'gpt-4o', id: 'openai:gpt-4o' });
    expect(parseDeployment('ft:gpt-4o-mini:acme::abc')).toMatchObject({ provider: 'openai', model: 'ft:gpt-4o-mini:acme::abc' });
  });

  it('rejects empty names', () => {
    expect(parseDeployment('')).toBeNull();
    expect(parseDeployment('anthropic:')).toBeNull();
  });
});

describe('parseModelGroups', () => {
  it('adds a default group from DEFAULT_MODEL when none is configured', () => {
    expect(parseModelGroups('', 'gpt-4.1')).toEqual({ groups: { default: [{ id: 'openai:gpt-4.1', provider: 'openai', model: 'gpt-4.1' }] } });
    const r = parseModelGroups('{"cheap":["ollama:llama3.1"]}', 'gpt-4o-mini');
    expect('groups' in r && Object.keys(r.groups)).toEqual(['cheap', 'default']);
  });

  it('explains what is wrong', () => {
    expect(parseModelGroups('{', 'x')).toMatchObject({ error: expect.stringContaining('not JSON') });
    expect(parseModelGroups('["openai:gpt-4o"]', 'x')).toMatchObject({ error: expect.stringContaining('JSON object') });
    expect(parseModelGroups('{"default":[]}', 'x')).toMatchObject({ error: 'group "default" must be a non-empty array' });
    expect(parseModelGroups('{"default":[42]}', 'x')).toMatchObject({ error: 'group "default": 42 is not "provider:model"' });
  });
});

describe('resolveChain', () => {
  const g = groups({
    default: ['openai:gpt-4o-mini', 'anthropic:claude-3-5-haiku-latest', 'ollama:llama3.1'],
    smart: ['anthropic:claude-sonnet-4-5', 'openai:gpt-4.1'],
  });

  it('uses the agent models alone, in order, when no group is named', () => {
    expect(ids(resolveChain(g, { preferences: { models: ['anthropic:claude-haiku-4-5', 'gpt-4o'] } }))).toEqual(['anthropic:claude-haiku-4-5', 'openai:gpt-4o']);
  });

  it('appends the named group after the agent models, without duplicates', () => {
    expect(ids(resolveChain(g, { preferences: { group: 'smart', models: ['openai:gpt-4.1', 'ollama:qwen2.5'] } }))).toEqual([
      'openai:gpt-4.1',
      'ollama:qwen2.5',
      'anthropic:claude-sonnet-4-5',
    ]);
  });

  it('uses a named group, and the default group for an unknown one or nothing at all', () => {
    expect(resolveChain(g, { preferences: { group: 'smart' } })).toMatchObject({ group: 'smart' });
    expect(resolveChain(g, { preferences: { group: 'nope' } })).toMatchObject({ group: 'default' });
    expect(ids(resolveChain(g, { preferences: {} }))).toEqual(ids({ deployments: g.default! }));
    expect(ids(resolveChain(g, {}))).toEqual(ids({ deployments: g.default! }));
  });

  it('treats a request model as a group name or as a model ahead of the default group', () => {
    expect(resolveChain(g, { model: 'smart' })).toMatchObject({ group: 'smart' });
    expect(ids(resolveChain(g, { model: 'anthropic:claude-3-5-haiku-latest' }))).toEqual([
      'anthropic:claude-3-5-haiku-latest',
      'openai:gpt-4o-mini',
      'ollama:llama3.1',
    ]);
  });

  it('ignores what is not usable in Agent.modelPreferences', () => {
    expect(parsePreferences({ group: '  ', models: [1, '', 'ollama:llama3.1', null] })).toEqual({ models: [{ id: 'ollama:llama3.1', provider: 'ollama', model: 'llama3.1' }] });
    expect(parsePreferences('gpt-4o')).toEqual({ models: [] });
    expect(parsePreferences(null)).toEqual({ models: [] });
  });
});
