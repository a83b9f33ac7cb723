import { isUuid } from '@konstruct/core';
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


export { isUuid };

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Serialized size in bytes, to cap JSON columns. */
export const jsonBytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v) ?? '', 'utf8');

/** Length in characters as a person counts them (code points, not UTF-16 units). */
export const chars = (s: string): number => [...s].length;
