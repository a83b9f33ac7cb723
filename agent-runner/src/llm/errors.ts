import type { LlmErrorClass } from './types.ts';

/** Worth trying the same deployment again after a pause. */
const RETRYABLE: ReadonlySet<LlmErrorClass> = new Set(['rate_limited', 'overloaded', 'server_error', 'timeout', 'connection']);

/**
 * Says something about the deployment (or the key used with it) rather than about this
 * request, so it counts toward that deployment's cooldown. A 400 is the request's fault.
 */
const HEALTH: ReadonlySet<LlmErrorClass> = new Set([...RETRYABLE, 'auth', 'not_found']);

/** A provider call that failed, normalized from whichever SDK raised it. */
export class LlmCallError extends Error {
  constructor(
    readonly errorClass: LlmErrorClass,
    message: string,
    readonly details: { status?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: details.cause });
    this.name = 'LlmCallError';
  }
  get status(): number | undefined {
    return this.details.status;
  }
  get retryAfterMs(): number | undefined {
    return this.details.retryAfterMs;
  }
  get retryable(): boolean {
    return RETRYABLE.has(this.errorClass);
  }
  get countsAgainstDeployment(): boolean {
    return HEALTH.has(this.errorClass);
  }
}

export function classifyStatus(status: number): LlmErrorClass {
  if (status === 408) return 'timeout';
  if (status === 429) return 'rate_limited';
  // Anthropic answers 529 when overloaded; 503 is the same condition elsewhere.
  if (status === 529 || status === 503) return 'overloaded';
  if (status >= 500) return 'server_error';
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'not_found';
  return 'bad_request';
}

interface HeaderSource {
  get(name: string): string | null;
}

/** `retry-after-ms` (OpenAI, Anthropic), else `retry-after` in seconds or as an HTTP date. */
export function retryAfterMs(headers: HeaderSource | undefined | null, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.get('retry-after-ms') !== null && Number.isFinite(ms) && ms >= 0) return ms;
  const raw = headers.get('retry-after');
  if (raw === null || raw.trim() === '') return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Vendors sometimes echo the key they were given in error messages; never let it travel on. */
export function redact(text: string, secret: string | undefined): string {
  if (!secret || secret.length < 4) return text;
  return text.split(secret).join(`…${secret.slice(-4)}`);
}

/**
 * The caller's signal plus a per-attempt timeout, told apart afterwards: the SDKs report
 * both as an abort, but only the timeout is the provider's fault.
 */
export function deadline(timeoutMs: number, callerSignal?: AbortSignal) {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`timed out after ${timeoutMs} ms`));
  }, timeoutMs);
  const onCallerAbort = () => controller.abort(callerSignal?.reason);
  if (callerSignal?.aborted) onCallerAbort();
  else callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    callerAborted: () => callerSignal?.aborted === true,
    clear() {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    },
  };
}
export type Deadline = ReturnType<typeof deadline>;

/** For errors thrown after the deadline fired: which side ended the call. */
export function abortError(d: Deadline, timeoutMs: number, cause: unknown): LlmCallError | null {
  if (d.callerAborted()) return new LlmCallError('aborted', 'aborted by the caller', { cause });
  if (d.timedOut()) return new LlmCallError('timeout', `no answer within ${timeoutMs} ms`, { cause });
  return null;
}
