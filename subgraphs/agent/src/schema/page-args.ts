import { builder } from '../builder.ts';

/** `first` (clamped to 1–100, default 20) and `after` (a previous page's nextCursor). */
export const pageArgs = builder.args((t) => ({
  first: t.int({ description: 'Page size, 1–100 (default 20).' }),
  after: t.string({ description: 'The nextCursor of the previous page.' }),
}));
