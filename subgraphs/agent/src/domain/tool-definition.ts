import type { enums } from '@konstruct/db';
import { chars, invalid, isPlainObject, jsonBytes, type Checked, type FieldError } from './field-error.ts';
import { isPrivateHost } from './private-address.ts';

export const TOOL_LIMITS = {
  description: 2_000,
  url: 2_048,
  parametersBytes: 64 * 1024,
  timeoutMs: { min: 100, max: 60_000 },
  maxResponseBytes: { min: 1, max: 1024 * 1024 },
  hmacSecret: { min: 16, max: 512 },
} as const;

export const TOOL_NAME = /^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/;
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** The stored columns validation looks at. */
export interface ToolState {
  name: string;
  description: string;
  kind: enums.ToolKind;
  parameters: unknown;
  url: string | null;
  method: string;
  timeoutMs: number;
  maxResponseBytes: number;
  allowPrivateNetwork: boolean;
}

/** What a client sends; on update null or absent means "leave as is". */
export interface ToolDefinitionInput {
  name?: string | null;
  description?: string | null;
  kind?: enums.ToolKind | null;
  parameters?: unknown;
  url?: string | null;
  method?: string | null;
  timeoutMs?: number | null;
  maxResponseBytes?: number | null;
  allowPrivateNetwork?: boolean | null;
  /** Write-only. */
  hmacSecret?: string | null;
  /** Update only: remove the stored secret. */
  clearHmacSecret?: boolean | null;
}

export const TOOL_DEFAULTS: Omit<ToolState, 'name' | 'description' | 'kind'> = {
  parameters: { type: 'object', properties: {} },
  url: null,
  method: 'POST',
  timeoutMs: 10_000,
  maxResponseBytes: 65_536,
  allowPrivateNetwork: false,
};

export interface ToolChanges {
  /** The full state after the change, validated. */
  state: ToolState;
  /** A new plaintext secret to seal, `null` to remove the stored one, undefined to keep it. */
  hmacSecret: string | null | undefined;
}

/**
 * Merges an input over the current state (or the defaults, on create) and checks the result
 * as a whole: whether a URL is acceptable depends on `kind` and `allowPrivateNetwork`, which
 * may come from the stored row.
 */
export function applyToolInput(current: ToolState | null, input: ToolDefinitionInput): Checked<ToolChanges> {
  if (!current) {
    if (input.name == null) return invalid('name', 'name is required');
    if (input.description == null) return invalid('description', 'description is required');
    if (input.kind == null) return invalid('kind', 'kind is required');
    if (input.clearHmacSecret) return invalid('clearHmacSecret', 'there is no secret to clear on a new tool');
  }
  const base: ToolState = current ?? {
    ...TOOL_DEFAULTS,
    name: '',
    description: '',
    kind: input.kind ?? 'http',
  };
  const state: ToolState = {
    name: input.name ?? base.name,
    description: input.description != null ? input.description.trim() : base.description,
    kind: input.kind ?? base.kind,
    parameters: input.parameters ?? base.parameters,
    url: input.url != null ? input.url.trim() : base.url,
    method: input.method != null ? input.method.trim().toUpperCase() : base.method,
    timeoutMs: input.timeoutMs ?? base.timeoutMs,
    maxResponseBytes: input.maxResponseBytes ?? base.maxResponseBytes,
    allowPrivateNetwork: input.allowPrivateNetwork ?? base.allowPrivateNetwork,
  };
  const problem = checkToolState(state);
  if (problem) return { ok: false, error: problem };

  let hmacSecret: string | null | undefined;
  if (input.hmacSecret != null && input.clearHmacSecret)
    return invalid('hmacSecret', 'give either a new hmacSecret or clearHmacSecret, not both');
  if (input.hmacSecret != null) {
    const s = input.hmacSecret;
    if (state.kind !== 'http') return invalid('hmacSecret', 'an HMAC secret applies to http tools only');
    if (s.length < TOOL_LIMITS.hmacSecret.min || s.length > TOOL_LIMITS.hmacSecret.max)
      return invalid('hmacSecret', `hmacSecret must be ${TOOL_LIMITS.hmacSecret.min}–${TOOL_LIMITS.hmacSecret.max} characters`);
    hmacSecret = s;
  } else if (input.clearHmacSecret || state.kind !== 'http') {
    // A builtin tool calls nothing, so it keeps no secret.
    hmacSecret = current ? null : undefined;
  }
  return { ok: true, value: { state, hmacSecret } };
}

export function checkToolState(s: ToolState): FieldError | null {
  if (!TOOL_NAME.test(s.name))
    return { field: 'name', message: 'name must start with a letter and use only letters, digits, _ and - (at most 64)' };
  if (chars(s.description) < 1 || chars(s.description) > TOOL_LIMITS.description)
    return { field: 'description', message: `description must be 1–${TOOL_LIMITS.description} characters` };

  const params = checkParameters(s.parameters);
  if (params) return { field: 'parameters', message: params };

  if (s.kind === 'http') {
    const url = checkUrl(s.url, s.allowPrivateNetwork);
    if (url) return { field: 'url', message: url };
  } else if (s.url != null) {
    return { field: 'url', message: 'a builtin tool has no URL' };
  }
  if (!(HTTP_METHODS as readonly string[]).includes(s.method))
    return { field: 'method', message: `method must be one of ${HTTP_METHODS.join(', ')}` };

  const { timeoutMs: t, maxResponseBytes: m } = TOOL_LIMITS;
  if (!Number.isInteger(s.timeoutMs) || s.timeoutMs < t.min || s.timeoutMs > t.max)
    return { field: 'timeoutMs', message: `timeoutMs must be an integer from ${t.min} to ${t.max}` };
  if (!Number.isInteger(s.maxResponseBytes) || s.maxResponseBytes < m.min || s.maxResponseBytes > m.max)
    return { field: 'maxResponseBytes', message: `maxResponseBytes must be an integer from ${m.min} to ${m.max} (1 MiB)` };
  return null;
}

/** The arguments' JSON Schema, as LLM function calling expects it: an object schema. */
export function checkParameters(p: unknown): string | null {
  if (!isPlainObject(p)) return 'parameters must be a JSON Schema object';
  if (p.type !== 'object') return 'parameters must be a JSON Schema with type "object"';
  if ('properties' in p && !isPlainObject(p.properties)) return 'parameters.properties must be an object';
  if ('required' in p && !(Array.isArray(p.required) && p.required.every((r) => typeof r === 'string')))
    return 'parameters.required must be a list of property names';
  if (jsonBytes(p) > TOOL_LIMITS.parametersBytes) return `parameters must be at most ${TOOL_LIMITS.parametersBytes} bytes`;
  return null;
}

export function checkUrl(raw: string | null, allowPrivateNetwork: boolean): string | null {
  if (raw == null || raw === '') return 'an http tool needs a URL';
  if (raw.length > TOOL_LIMITS.url) return `url must be at most ${TOOL_LIMITS.url} characters`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'url is not a valid URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'url must use https';
  if (url.protocol === 'http:' && !allowPrivateNetwork) return 'url must use https (plain http only with allowPrivateNetwork)';
  if (url.username || url.password) return 'url must not carry credentials; use the HMAC secret';
  if (!url.hostname) return 'url needs a host';
  if (!allowPrivateNetwork && isPrivateHost(url.hostname))
    return 'url points at a private network address; set allowPrivateNetwork to allow it';
  return null;
}
