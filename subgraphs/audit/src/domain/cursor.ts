import type { Prisma } from '@konstruct/db';
import { decodeCursor, encodeCursor } from '@konstruct/graphql';

/**
 * Keyset cursors over (occurredAt desc, id desc). The kit's helpers are keyed on createdAt;
 * audit events are ordered by when they happened, so they are reused with occurredAt in the
 * createdAt slot (the encoding stays opaque and identical across subgraphs).
 */
export interface OccurredKey {
  occurredAt: Date;
  id: string;
}

export function encodeOccurredCursor(k: OccurredKey): string {
  return encodeCursor({ createdAt: k.occurredAt, id: k.id });
}

/** null when the cursor is not one of ours (callers reject it rather than restart the list). */
export function decodeOccurredCursor(cursor: string): OccurredKey | null {
  const k = decodeCursor(cursor);
  return k ? { occurredAt: k.createdAt, id: k.id } : null;
}

/** Prisma `where` for rows strictly after the cursor in (occurredAt desc, id desc) order. */
export function afterOccurred(cursor: OccurredKey | null): Prisma.AuditEventWhereInput {
  if (!cursor) return {};
  return {
    OR: [{ occurredAt: { lt: cursor.occurredAt } }, { occurredAt: cursor.occurredAt, id: { lt: cursor.id } }],
  };
}

/** Takes `first` of `first + 1` fetched rows; a next cursor only when the extra row exists. */
export function pageByOccurred<T extends OccurredKey>(rows: T[], first: number): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, first);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > first && last ? encodeOccurredCursor(last) : null };
}
