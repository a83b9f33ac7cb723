import { err, ok, type Result } from '@konstruct/core';
import type { InputProblem } from './budget-input.ts';

export type LlmProvider = 'openai' | 'anthropic' | 'ollama';

export const KEY_MIN_LENGTH = 8;
const KEY_MAX_LENGTH = 4096;
const LABEL_MAX_LENGTH = 100;
const URL_MAX_LENGTH = 2048;

/**
 * A provider API key as pasted: surrounding whitespace (a trailing newline from a copy) is
 * dropped; whitespace or control characters inside mean it was pasted wrong.
 */
export function normalizeProviderKey(raw: string): Result<string, InputProblem> {
  const key = raw.trim();
  if (key.length === 0) return err({ message: 'key must not be empty', field: 'key' });
  if (key.length < KEY_MIN_LENGTH) return err({ message: `key must be at least ${KEY_MIN_LENGTH} characters`, field: 'key' });
  if (key.length > KEY_MAX_LENGTH) return err({ message: `key must be at most ${KEY_MAX_LENGTH} characters`, field: 'key' });
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(key)) return err({ message: 'key must not contain whitespace or control characters', field: 'key' });
  return ok(key);
}

/**
 * The API base for this key, or null for the provider's default. HTTPS only, because the key
 * travels in every request; plain HTTP is accepted for Ollama, which usually runs on the
 * tenant's own network. Credentials in the URL are refused: they would be stored in clear.
 */
export function normalizeBaseUrl(provider: LlmProvider, raw: string | null | undefined): Result<string | null, InputProblem> {
  const s = raw?.trim() ?? '';
  if (s === '') return ok(null);
  if (s.length > URL_MAX_LENGTH) return err({ message: 'baseUrl is too long', field: 'baseUrl' });
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return err({ message: 'baseUrl must be an absolute URL', field: 'baseUrl' });
  }
  const allowed = provider === 'ollama' ? ['https:', 'http:'] : ['https:'];
  if (!allowed.includes(url.protocol)) {
    return err({
      message: provider === 'ollama' ? 'baseUrl must use https or http' : 'baseUrl must use https',
      field: 'baseUrl',
    });
  }
  if (url.username || url.password) return err({ message: 'baseUrl must not contain credentials', field: 'baseUrl' });
  return ok(s);
}

export function normalizeLabel(raw: string | null | undefined): Result<string, InputProblem> {
  const label = raw?.trim() ?? '';
  if (label.length > LABEL_MAX_LENGTH) return err({ message: `label must be at most ${LABEL_MAX_LENGTH} characters`, field: 'label' });
  return ok(label);
}

export interface ProviderKeyInput {
  provider: LlmProvider;
  label: string;
  key: string;
  baseUrl: string | null;
}

export function validateProviderKeyInput(input: {
  provider: LlmProvider;
  label?: string | null;
  key: string;
  baseUrl?: string | null;
}): Result<ProviderKeyInput, InputProblem> {
  const key = normalizeProviderKey(input.key);
  if (!key.ok) return key;
  const label = normalizeLabel(input.label);
  if (!label.ok) return label;
  const baseUrl = normalizeBaseUrl(input.provider, input.baseUrl);
  if (!baseUrl.ok) return baseUrl;
  return ok({ provider: input.provider, label: label.value, key: key.value, baseUrl: baseUrl.value });
}
