/** Opaque keyset cursors: (createdAt, id) encoded so clients cannot depend on the format. */
export interface CursorKey {
  createdAt: Date;
  id: string;
}

export function encodeCursor(k: CursorKey): string {
  return Buffer.from(JSON.stringify([k.createdAt.toISOString(), k.id])).toString('base64url');
}

export function decodeCursor(cursor: string): CursorKey | null {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const createdAt = new Date(at);
    if (typeof id !== 'string' || Number.isNaN(createdAt.getTime())) return null;
    return { createdAt, id };
  } catch {
    return null;
  }
}

/** Prisma `where` for rows after the cursor in (createdAt desc, id desc) order. */
export function afterCursor(cursor: CursorKey | null) {
  if (!cursor) return {};
  return {
    OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }],
  };
}

export const clampFirst = (first: number | null | undefined, max = 100, fallback = 20) =>
  Math.max(1, Math.min(max, first ?? fallback));

/** Fetches one extra row to know whether there is a next page. */
export function page<T extends CursorKey>(rows: T[], first: number) {
  const items = rows.slice(0, first);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > first && last ? encodeCursor(last) : null };
}
