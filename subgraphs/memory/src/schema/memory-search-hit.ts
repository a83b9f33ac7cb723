import { builder } from '../builder.ts';
import type { SearchHit } from '../domain/memories.ts';
import { MemoryItem } from './memory-item.ts';

export const MemorySearchHit = builder.objectRef<SearchHit>('MemorySearchHit').implement({
  fields: (t) => ({
    item: t.field({ type: MemoryItem, resolve: (h) => h.item }),
    score: t.exposeFloat('score', { description: 'Cosine similarity to the query: 1 is identical, around 0 unrelated.' }),
  }),
});
