import { decryptSecret, secretContext, type Logger, type MasterKeyring } from '@konstruct/core';
import { truncate } from './arguments.ts';
import { guardedRequest, type ResolveHost } from './guarded-request.ts';
import { TIMESTAMP_HEADER, SIGNATURE_HEADER, toolSignature } from './signature.ts';
import type { ToolErrorCode } from './types.ts';

/** The columns of `tool_definitions` an HTTP call needs. */
export interface HttpToolDefinition {
  id: string;
  name: string;
  url: string | null;
  method: string;
  hmacSecretEnc: string | null;
  timeoutMs: number;
  maxResponseBytes: number;
  allowPrivateNetwork: boolean;
}

export interface HttpToolDeps {
  keyring: MasterKeyring;
  /** The runner's development switch (TOOLS_ALLOW_PRIVATE_NETWORK); the tool's own flag must be set too. */
  allowPrivateNetwork: boolean;
  resolve: ResolveHost;
  now(): number;
  logger: Logger;
}

export type HttpToolOutcome =
  | { ok: true; content: string; status: number; responseBytes: number }
  | { ok: false; code: ToolErrorCode; message: string; status?: number; responseBytes?: number };

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
/** How much of an error response the model sees; enough for an API's error message. */
const ERROR_BODY_CHARS = 500;

/** Binds the sealed secret to its row, as the agent subgraph sealed it. */
export const hmacSecretContext = (toolId: string) => secretContext('tool_definitions', 'hmac_secret', toolId);

/**
 * Calls a tenant's HTTP tool with already validated arguments: JSON body for POST/PUT/PATCH,
 * query parameters for GET/DELETE (strings as they are, other values as JSON), signed as
 * described in signature.ts. A 2xx answer must be JSON (`application/json`, `+json`) or text
 * (`text/*`); a missing content type is accepted when the body is valid UTF-8.
 */
export async function callHttpTool(
  def: HttpToolDefinition,
  args: Record<string, unknown>,
  meta: { toolCallId: string; signal?: AbortSignal },
  deps: HttpToolDeps,
): Promise<HttpToolOutcome> {
  const log = deps.logger.child({ toolId: def.id, tool: def.name });
  let url: URL;
  try {
    url = new URL(def.url ?? '');
  } catch {
    return { ok: false, code: 'misconfigured', message: 'the tool has no valid URL configured' };
  }
  let secret: string | null = null;
  if (def.hmacSecretEnc) {
    try {
      secret = decryptSecret(deps.keyring, def.hmacSecretEnc, hmacSecretContext(def.id));
    } catch (e) {
      log.error({ err: e instanceof Error ? e.message : String(e) }, "tool's HMAC secret could not be decrypted; not calling it unsigned");
      return { ok: false, code: 'misconfigured', message: "the tool's signing secret is unavailable" };
    }
  }

  const method = def.method.toUpperCase();
  let body: string | undefined;
  let payload: string;
  if (BODY_METHODS.has(method)) {
    body = JSON.stringify(args);
    payload = body;
  } else {
    for (const [k, v] of Object.entries(args)) url.searchParams.append(k, typeof v === 'string' ? v : JSON.stringify(v));
    payload = url.search.replace(/^\?/, '');
  }
  const timestamp = Math.floor(deps.now() / 1000);
  const headers: Record<string, string> = {
    accept: 'application/json, text/plain;q=0.9, */*;q=0.1',
    'user-agent': 'Konstruct-Tools/1',
    'x-konstruct-tool': def.name,
    'x-konstruct-tool-call-id': meta.toolCallId,
    [TIMESTAMP_HEADER]: String(timestamp),
    ...(body !== undefined && { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }),
    ...(secret !== null && { [SIGNATURE_HEADER]: toolSignature(secret, timestamp, payload) }),
  };

  const res = await guardedRequest({
    url,
    method,
    headers,
    ...(body !== undefined && { body }),
    allowPrivate: def.allowPrivateNetwork && deps.allowPrivateNetwork,
    maxResponseBytes: def.maxResponseBytes,
    timeoutMs: def.timeoutMs,
    ...(meta.signal && { signal: meta.signal }),
    resolve: deps.resolve,
  });
  if (!res.ok) return res;

  const { status } = res;
  const responseBytes = res.body.length;
  if (status >= 300 && status < 400) {
    const location = res.headers.location;
    return {
      ok: false,
      code: 'redirect_refused',
      status,
      responseBytes,
      message: `the tool answered HTTP ${status}${location ? ` redirecting to ${truncate(location, 200)}` : ''}; redirects are not followed`,
    };
  }
  if (status >= 400 || status < 200) {
    // Lenient decoding: an error body cut at the size limit may end inside a character.
    const snippet = truncate(res.body.toString('utf8').trim(), ERROR_BODY_CHARS);
    return { ok: false, code: 'http_status', status, responseBytes, message: `the tool answered HTTP ${status}${snippet ? `: ${snippet}` : ''}` };
  }
  if (res.truncated)
    return {
      ok: false,
      code: 'response_too_large',
      status,
      responseBytes,
      message: `the tool's response is larger than its limit of ${def.maxResponseBytes} bytes`,
    };
  if (!responseBytes) return { ok: true, status, responseBytes, content: `The tool succeeded (HTTP ${status}) and returned no content.` };

  const type = String(res.headers['content-type'] ?? '').toLowerCase();
  const isJson = /^application\/([\w.+-]+\+)?json\b/.test(type);
  if (type && !isJson && !type.startsWith('text/'))
    return {
      ok: false,
      code: 'invalid_response',
      status,
      responseBytes,
      message: `the tool answered with content type ${truncate(type, 100)}; tools must answer JSON or text`,
    };
  const text = decodeUtf8(res.body);
  if (text === null) return { ok: false, code: 'invalid_response', status, responseBytes, message: 'the tool answered with a body that is not UTF-8 text' };
  if (isJson || !type) {
    try {
      JSON.parse(text);
      return { ok: true, status, responseBytes, content: text };
    } catch {
      if (isJson) return { ok: false, code: 'invalid_response', status, responseBytes, message: 'the tool answered with invalid JSON' };
    }
  }
  return { ok: true, status, responseBytes, content: text };
}

function decodeUtf8(b: Buffer): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return null;
  }
}
