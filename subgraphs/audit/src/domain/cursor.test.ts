import { describe, expect, it } from 'vitest';
import { afterOccurred, decodeOccurredCursor, encodeOccurredCursor, pageByOccurred } from './cursor.ts';

const key = (ms: number, id: string) => ({ occurredAt: new Date(ms), id });

describe('occurredAt cursors', () => {
  it('round-trips (occurredAt, id) through an opaque string', () => {
    const k = key(Date.UTC(2026, 0, 1, 10, 30, 0, 123), '7b3c8b0e-1f7e-4c89-9d0f-2a4c1c1f0a01');
    const c = encodeOccurredCursor(k);
    expect(c).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(c).not.toContain(k.id);
    expect(decodeOccurredCursor(c)).toEqual(k);
  });

  it('rejects what it did not issue', () => {
    for (const bad of ['', 'not-a-cursor', Buffer.from('["yesterday","x"]').toString('base64url'), Buffer.from('{}').toString('base64url')]) {
      expect(decodeOccurredCursor(bad), bad).toBeNull();
    }
  });

  it('continues strictly after the cursor: earlier time, or same time and smaller id', () => {
    expect(afterOccurred(null)).toEqual({});
    const k = key(1000, 'b');
    expect(afterOccurred(k)).toEqual({
      OR: [{ occurredAt: { lt: new Date(1000) } }, { occurredAt: new Date(1000), id: { lt: 'b' } }],
    });
  });

  it('pages: a next cursor (of the last item kept) only when an extra row was fetched', () => {
    const rows = [key(5, 'e'), key(4, 'd'), key(4, 'c')];
    const full = pageByOccurred(rows, 2);
    expect(full.items).toEqual(rows.slice(0, 2));
    expect(decodeOccurredCursor(full.nextCursor!)).toEqual(rows[1]);
    expect(pageByOccurred(rows, 3)).toEqual({ items: rows, nextCursor: null });
    expect(pageByOccurred([], 3)).toEqual({ items: [], nextCursor: null });
  });
});
