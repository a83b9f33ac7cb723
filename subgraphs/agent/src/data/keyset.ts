import { KonstructError } from '@konstruct/core';
import { afterCursor, clampFirst, decodeCursor, page, type CursorKey } from '@konstruct/graphql';

export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Newest first by (createdAt, id); one extra row tells whether another page follows. */
export const NEWEST_FIRST = [{ createdAt: 'desc' as const }, { id: 'desc' as const }];

/**
 * Keyset page arguments for a Prisma `findMany`: the cursor condition to AND with the
 * caller's filter, and how many rows to take.
 */
export function keyset(args: PageArgs) {
  const first = clampFirst(args.first);
  let cursor: CursorKey | null = null;
  if (args.after != null) {
    cursor = decodeCursor(args.after);
    if (!cursor) throw new KonstructError('VALIDATION', 'after is not a cursor this API returned');
  }
  return { first, take: first + 1, after: afterCursor(cursor), orderBy: NEWEST_FIRST };
}

export function toPage<T extends CursorKey, U = T>(rows: T[], first: number, map?: (row: T) => U): Page<U> {
  const p = page(rows, first);
  return { items: map ? p.items.map(map) : (p.items as unknown as U[]), nextCursor: p.nextCursor };
}
