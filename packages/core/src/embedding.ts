/**
 * Text embeddings shared by the memory subgraph (search) and the agent runner (long-term
 * memory). `memory_items.embedding` is `vector(384)`, so every embedder produces 384
 * dimensions; rows record the model that embedded them (`embedding_model`) and searches only
 * compare vectors of the same model, so several models can coexist in one table.
 *
 * The built-in embedder needs no model server and no network: the hashing trick over
 * lowercased word unigrams and character trigrams, signed, into 384 dimensions,
 * L2-normalised so that pgvector's cosine distance (`<=>`) is meaningful. It captures lexical
 * overlap only (shared words, shared word pieces), not meaning. Network embedders (OpenAI,
 * Ollama) live with their SDKs in the agent runner, behind the same interface.
 */

export const LOCAL_EMBEDDING_MODEL = 'konstruct-hash-384';
export const EMBEDDING_DIMS = 384;

export interface Embedder {
  /** Stored in `memory_items.embedding_model`; include anything that changes the vectors. */
  readonly model: string;
  readonly dims: number;
  /** A vector of `dims` numbers; all zeros when the text has no words to embed. */
  embed(text: string, signal?: AbortSignal): Promise<number[]>;
  /** One vector per text, in order; one request to a remote model where it allows that. */
  embedMany(texts: readonly string[], signal?: AbortSignal): Promise<number[][]>;
}

const WORD = /[\p{L}\p{N}]+/gu;
/** Trigrams outnumber words about 4:1; a lower weight keeps whole-word matches dominant. */
const TRIGRAM_WEIGHT = 0.5;

/** FNV-1a, 32-bit, over UTF-16 code units: tiny, fast, and stable across platforms. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function add(v: number[], feature: string, weight: number): void {
  const h = fnv1a(feature);
  // The sign comes from other bits of a remixed hash, so collisions cancel out on average
  // instead of always adding up (unrelated texts then score near 0, not near 1).
  const sign = Math.imul(h, 0x9e3779b1) & 0x80000000 ? -1 : 1;
  v[h % EMBEDDING_DIMS]! += sign * weight;
}

export function embedText(text: string): number[] {
  const v: number[] = new Array<number>(EMBEDDING_DIMS).fill(0);
  const words = text.normalize('NFKC').toLowerCase().match(WORD) ?? [];
  for (const word of words) {
    add(v, `w:${word}`, 1);
    // Word boundaries marked, so "cat" and "concatenate" share less than "cat" and "cats".
    const padded = `<${word}>`;
    for (let i = 0; i + 3 <= padded.length; i++) add(v, `t:${padded.slice(i, i + 3)}`, TRIGRAM_WEIGHT);
  }
  let sq = 0;
  for (const x of v) sq += x * x;
  const norm = Math.sqrt(sq);
  return norm === 0 ? v : v.map((x) => x / norm);
}

export const localEmbedder: Embedder = {
  model: LOCAL_EMBEDDING_MODEL,
  dims: EMBEDDING_DIMS,
  embed: async (text) => embedText(text),
  embedMany: async (texts) => texts.map(embedText),
};

export const isZeroVector = (v: readonly number[]) => v.every((x) => x === 0);

/** pgvector's text form, `[x1,x2,…]`, for a `$n::vector` parameter. */
export function toVectorLiteral(v: readonly number[]): string {
  if (v.some((x) => !Number.isFinite(x))) throw new Error('vector has a non-finite component');
  return `[${v.join(',')}]`;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
