import { describe, expect, it } from 'vitest';
import { normalizeBaseUrl, normalizeProviderKey, validateProviderKeyInput } from './provider-key-input.ts';

describe('normalizeProviderKey', () => {
  it('trims and accepts keys of 8 characters or more', () => {
    expect(normalizeProviderKey('  sk-12345\n')).toEqual({ ok: true, value: 'sk-12345' });
  });
  it.each(['', '   ', 'sk-1234', 'sk-12 345', 'sk-12\t345', `sk-${'x'.repeat(5000)}`])('refuses %j', (raw) => {
    expect(normalizeProviderKey(raw)).toMatchObject({ ok: false, error: { field: 'key' } });
  });
});

describe('normalizeBaseUrl', () => {
  it('treats empty as the default', () => {
    expect(normalizeBaseUrl('openai', null)).toEqual({ ok: true, value: null });
    expect(normalizeBaseUrl('openai', '  ')).toEqual({ ok: true, value: null });
  });
  it('requires https, except http for Ollama', () => {
    expect(normalizeBaseUrl('openai', 'https://api.openai.com/v1')).toEqual({ ok: true, value: 'https://api.openai.com/v1' });
    expect(normalizeBaseUrl('anthropic', 'http://api.anthropic.com')).toMatchObject({ ok: false, error: { field: 'baseUrl' } });
    expect(normalizeBaseUrl('ollama', 'http://127.0.0.1:11434')).toEqual({ ok: true, value: 'http://127.0.0.1:11434' });
    expect(normalizeBaseUrl('ollama', 'https://ollama.example.com')).toMatchObject({ ok: true });
  });
  it.each(['ftp://example.com', 'file:///etc/passwd', 'javascript:alert(1)', 'example.com', 'https://u:p@example.com'])('refuses %j', (raw) => {
    expect(normalizeBaseUrl('ollama', raw)).toMatchObject({ ok: false, error: { field: 'baseUrl' } });
  });
});

describe('validateProviderKeyInput', () => {
  it('normalizes every field', () => {
    expect(validateProviderKeyInput({ provider: 'openai', label: ' prod ', key: 'sk-abcdefgh ', baseUrl: '' })).toEqual({
      ok: true,
      value: { provider: 'openai', label: 'prod', key: 'sk-abcdefgh', baseUrl: null },
    });
  });
  it('reports the key before the url', () => {
    expect(validateProviderKeyInput({ provider: 'openai', key: 'x', baseUrl: 'http://a' })).toMatchObject({ ok: false, error: { field: 'key' } });
  });
});
