/**
 * Readers for fields of a webhook body. It is signed by Meta but still untrusted in shape: a
 * field of the wrong type is treated as absent rather than carried into a query or a message.
 */

/** A string, with NUL removed (Postgres text cannot hold it) and clipped to `max`; else undefined. */
export function str(v: unknown, max = 4096): string | undefined {
  if (typeof v !== 'string') return undefined;
  const clean = v.includes('\u0000') ? v.replaceAll('\u0000', '') : v;
  return clean.length > max ? clean.slice(0, max) : clean;
}

/** An identifier (wamid, wa_id, media id): a non-empty string of at most 512 characters, used as is. */
export function id(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= 512 && !v.includes('\u0000') ? v : undefined;
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
