import { describe, expect, it } from 'vitest';
import { EMBEDDING_DIMS, LOCAL_EMBEDDING_MODEL, cosine, embedText, isZeroVector, localEmbedder, toVectorLiteral } from './embedding.ts';

const norm = (v: number[]) => Math.hypot(...v);

describe('local hash embedder (konstruct-hash-384)', () => {
  it('is deterministic: same text, same vector, across calls and case/width variants', async () => {
    const a = embedText('The customer prefers email over phone calls');
    expect(embedText('The customer prefers email over phone calls')).toEqual(a);
    expect(await localEmbedder.embed('THE CUSTOMER prefers email over phone calls!')).toEqual(a);
    // NFKC: full-width letters are the same word.
    expect(embedText('ｅｍａｉｌ')).toEqual(embedText('email'));
    expect(localEmbedder.model).toBe(LOCAL_EMBEDDING_MODEL);
    expect(LOCAL_EMBEDDING_MODEL).toBe('konstruct-hash-384');
  });

  it('pins the hashing: a change to the features or hash would silently orphan stored vectors', () => {
    const v = embedText('tea');
    // "tea" → w:tea plus trigrams <te, tea, ea>; indices and signs are fixed by FNV-1a.
    const nonZero = v.flatMap((x, i) => (x === 0 ? [] : [[i, Math.sign(x)]]));
    expect(nonZero).toEqual([[18, 1], [77, 1], [106, -1], [139, 1]]);
    // Word weight 1, trigram weight 0.5, then normalised.
    expect(v[106]).toBeCloseTo(-1 / Math.sqrt(1.75), 12);
    expect(v[18]).toBeCloseTo(0.5 / Math.sqrt(1.75), 12);
  });

  it('has 384 finite dimensions and unit length; empty text is the zero vector', () => {
    for (const text of ['hello', 'Refund policy: 30 days, no questions asked.', 'naïve café – 東京 2026', 'a']) {
      const v = embedText(text);
      expect(v).toHaveLength(EMBEDDING_DIMS);
      expect(v.every(Number.isFinite)).toBe(true);
      expect(norm(v)).toBeCloseTo(1, 12);
    }
    for (const empty of ['', '   ', '?!… —']) {
      const v = embedText(empty);
      expect(v).toHaveLength(EMBEDDING_DIMS);
      expect(isZeroVector(v)).toBe(true);
    }
  });

  it('places similar texts closer than unrelated ones', () => {
    const q = embedText('what drink does the customer like');
    const related = embedText('The customer likes green tea as a drink');
    const inflected = embedText('customers liked drinks');
    const unrelated = embedText('Invoice 4411 is overdue by thirty days');
    expect(cosine(q, related)).toBeGreaterThan(cosine(q, unrelated) + 0.2);
    expect(cosine(q, inflected)).toBeGreaterThan(cosine(q, unrelated));
    expect(cosine(q, q)).toBeCloseTo(1, 12);
    // Word order does not matter for a bag of features.
    expect(cosine(embedText('tea green'), embedText('green tea'))).toBeCloseTo(1, 12);
  });

  it('writes pgvector text form and refuses non-finite values', () => {
    expect(toVectorLiteral([0, 0.5, -1])).toBe('[0,0.5,-1]');
    const lit = toVectorLiteral(embedText('hello'));
    expect(lit.startsWith('[') && lit.endsWith(']')).toBe(true);
    expect(lit.slice(1, -1).split(',')).toHaveLength(EMBEDDING_DIMS);
    expect(() => toVectorLiteral([0, Number.NaN])).toThrow(/non-finite/);
  });
});

describe('embedMany', () => {
  it('embeds each text as embed() would, in order', async () => {
    const texts = ['green tea', '', 'Allergic to peanuts'];
    const many = await localEmbedder.embedMany(texts);
    expect(many).toEqual(texts.map(embedText));
    expect(localEmbedder.dims).toBe(EMBEDDING_DIMS);
  });
});
