/** Error codes shared across processes; mapped once at each boundary (HTTP, GraphQL, queue). */
export type ErrorCode =
  | 'VALIDATION'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'DEPENDENCY_UNAVAILABLE'
  | 'INTERNAL';

export class KonstructError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KonstructError';
  }
}

/** Expected failures are values, not exceptions. */
export type Result<T, E = { code: ErrorCode; message: string }> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
