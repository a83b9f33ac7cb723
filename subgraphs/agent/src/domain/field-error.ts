/** An input problem tied to the input field that caused it (`businessFunctions`, `url`, …). */
export interface FieldError {
  field: string;
  message: string;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; error: FieldError };

export const invalid = (field: string, message: string): { ok: false; error: FieldError } => ({
  ok: false,
  error: { field, message },
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids arrive from clients; a malformed one cannot name a row, so it is simply not found. */
export const isUuid = (id: string): boolean => UUID.test(id);

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Serialized size in bytes, to cap JSON columns. */
export const jsonBytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v) ?? '', 'utf8');

/** Length in characters as a person counts them (code points, not UTF-16 units). */
export const chars = (s: string): number => [...s].length;
