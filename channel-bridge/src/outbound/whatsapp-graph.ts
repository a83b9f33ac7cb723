/**
 * The Graph API calls the bridge makes for WhatsApp. Meta ships no maintained Node client for
 * the Cloud API, and the surface is two plain HTTPS endpoints, so this is `fetch`.
 */

/** Graph's error object (`{ error: { message, type, code, error_data, fbtrace_id } }`). */
export interface GraphError {
  code: number;
  message: string;
  type?: string;
  details?: string;
  fbtraceId?: string;
}

export type GraphSendResult =
  | { ok: true; wamid: string }
  /** Graph answered with an error: the message was not accepted. */
  | { ok: false; kind: 'rejected'; status: number; error: GraphError }
  /** Graph could not be reached: certainly not sent. */
  | { ok: false; kind: 'unreachable'; reason: string }
  /** No usable answer (timeout, reset, 5xx without a Graph error): it may or may not have been sent. */
  | { ok: false; kind: 'unknown'; reason: string };

export interface GraphClientOptions {
  /** Graph base including the version, e.g. `https://graph.facebook.com/v21.0`. */
  apiUrl: string;
  timeoutMs?: number;
}

export type GraphErrorClass = 'outside_window' | 'throughput' | 'pair_rate' | 'transient' | 'permanent';

/**
 * What an error code means for the sender. 131047: the 24-hour window is closed; 130429 (and
 * the app/account request limits 4, 80007): throughput, back off for the whole number; 131056:
 * too many messages to this user, back off for the pair; Meta's "try again" codes are
 * transient; everything else (bad number, token, parameters, policy) will not get better by
 * retrying and is recorded on the message.
 */
export function classifyGraphError(code: number, httpStatus = 400): GraphErrorClass {
  if (code === 131047) return 'outside_window';
  if (code === 130429 || code === 4 || code === 80007) return 'throughput';
  if (code === 131056) return 'pair_rate';
  if ([1, 2, 131000, 131016, 133004].includes(code) || httpStatus >= 500) return 'transient';
  return 'permanent';
}

export function graphErrorText(e: GraphError): string {
  const details = e.details && e.details !== e.message ? ` (${e.details})` : '';
  return `whatsapp ${e.code}: ${e.message}${details}`;
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** `POST /{phone-number-id}/messages` with the tenant's token. */
export async function sendGraphMessage(
  opts: GraphClientOptions,
  token: string,
  phoneNumberId: string,
  payload: Record<string, unknown>,
): Promise<GraphSendResult> {
  let res: Response;
  try {
    res = await fetch(`${opts.apiUrl}/${encodeURIComponent(phoneNumberId)}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
    });
  } catch (e) {
    const code = (e as { cause?: { code?: string } }).cause?.code;
    if (code && UNREACHABLE_CODES.has(code)) return { ok: false, kind: 'unreachable', reason: code };
    return { ok: false, kind: 'unknown', reason: (e as Error).name === 'TimeoutError' ? 'timeout' : (code ?? (e as Error).message) };
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const error = graphErrorFrom(body);
  if (res.ok) {
    const wamid = (body as { messages?: { id?: unknown }[] } | undefined)?.messages?.[0]?.id;
    if (typeof wamid === 'string' && wamid) return { ok: true, wamid };
    return { ok: false, kind: 'unknown', reason: `HTTP ${res.status} without a message id` };
  }
  if (error) return { ok: false, kind: 'rejected', status: res.status, error };
  if (res.status >= 500) return { ok: false, kind: 'unknown', reason: `HTTP ${res.status}` };
  return { ok: false, kind: 'rejected', status: res.status, error: { code: 0, message: `HTTP ${res.status}` } };
}

export function graphErrorFrom(body: unknown): GraphError | null {
  const e = (body as { error?: Record<string, unknown> } | undefined)?.error;
  if (!e || typeof e !== 'object' || typeof e.code !== 'number') return null;
  const data = e.error_data as { details?: unknown } | undefined;
  return {
    code: e.code,
    message: typeof e.message === 'string' ? e.message : `error ${e.code}`,
    ...(typeof e.type === 'string' ? { type: e.type } : {}),
    ...(typeof data?.details === 'string' ? { details: data.details } : {}),
    ...(typeof e.fbtrace_id === 'string' ? { fbtraceId: e.fbtrace_id } : {}),
  };
}

/** Media metadata from `GET /{media-id}`. The URL is short-lived (minutes) and needs the token too. */
export interface GraphMedia {
  id: string;
  url: string;
  mimeType: string;
  sha256: string;
  fileSize: number | null;
}

export async function getGraphMedia(opts: GraphClientOptions, token: string, mediaId: string): Promise<GraphMedia> {
  const res = await fetch(`${opts.apiUrl}/${encodeURIComponent(mediaId)}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
  });
  const body = (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (!res.ok || !body || typeof body.url !== 'string') {
    const error = graphErrorFrom(body);
    throw new Error(error ? graphErrorText(error) : `media ${mediaId}: HTTP ${res.status}`);
  }
  const size = Number(body.file_size);
  return {
    id: typeof body.id === 'string' ? body.id : mediaId,
    url: body.url,
    mimeType: typeof body.mime_type === 'string' ? body.mime_type : 'application/octet-stream',
    sha256: typeof body.sha256 === 'string' ? body.sha256 : '',
    fileSize: Number.isFinite(size) ? size : null,
  };
}
