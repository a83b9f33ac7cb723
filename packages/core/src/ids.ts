import { createHash } from 'node:crypto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are uuids; a malformed one from a client cannot name a row, so callers treat it as not found. */
export const isUuid = (id: string): boolean => UUID.test(id);

/**
 * A uuid derived from another and a purpose: the same inputs always give the same id, so a row
 * written for a message (a note about it, say) is written once however often the message comes.
 */
export function derivedUuid(base: string, purpose: string): string {
  const h = createHash('sha256').update(`${base.toLowerCase()}\u0000${purpose}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x80; // version 8: custom
  h[8] = (h[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}
