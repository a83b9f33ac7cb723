import { cosine, EMBEDDING_DIMS, embedText } from '@konstruct/core';
import { rng } from '../../test/support/prng.ts';

export { rng };

/**
 * Synthetic long-term memories for the recall benchmark and tests: sentences about a tenant's
 * customers (preferences, addresses, orders, …) from templates, embedded with the built-in
 * embedder the product uses by default. Deterministic per seed, so a run can be repeated.
 *
 * The embedder's vectors are sparse (a sentence touches a few dozen of the 384 dimensions), so
 * they travel to Postgres as pgvector's `sparsevec` text — a fifth of the bytes of the dense
 * form — and are cast to `vector` on insert. Values are rounded to float32, as `vector`
 * stores them, so the brute force here compares exactly what the database holds.
 */

const FIRST = 'Ada Ben Cleo Dev Eli Fay Gus Hana Ivo Jon Kai Lea Max Nia Oli Pia Quin Rae Sam Tia Uma Vic Wes Xia Yan Zoe Ari Bo Cy Dee Ema Finn Gia Hal Isa Jax Kim Lou Mo Ned Ona Pat Rex Sol Tom Val Wyn Yara Zed Abe'.split(' ');
const LAST = 'Silva Okafor Tanaka Novak Berg Costa Moreau Haddad Kowalski Lindqvist Ortiz Patel Quinn Rossi Schmidt Tran Umar Varga Weber Young Zhou Abbas Brandt Carvalho Dubois Eriksen Fischer Garcia Horvath Ivanova'.split(' ');
const DRINK = 'green tea|black coffee|oat latte|sparkling water|chai|espresso|hot chocolate|mint tea|orange juice|flat white'.split('|');
const DAYPART = 'morning|afternoon|evening|lunch break|weekend'.split('|');
const CITY = 'Lisbon Porto Madrid Lyon Berlin Hamburg Vienna Prague Krakow Oslo Bergen Tallinn Dublin Leeds Bristol Milan Turin Ghent Utrecht Aarhus Malmo Riga Vilnius Sofia Zagreb Split Nantes Bilbao Seville Graz'.split(' ');
const LANDMARK = 'river|old harbour|central station|cathedral|university|market hall|city park|stadium|airport|botanical garden'.split('|');
const PRODUCT = 'desk lamp|standing desk|office chair|monitor arm|keyboard|headset|webcam|laptop stand|notebook|backpack|water bottle|phone case|charger|speaker|router|printer|tablet|smart watch|coffee grinder|kettle'.split('|');
const COLOR = 'red blue green black white grey yellow orange purple teal navy beige'.split(' ');
const PROBLEM = 'too small|too loud|scratched|late|the wrong colour|missing a part|faulty|too heavy'.split('|');
const ALLERGEN = 'peanuts|shellfish|gluten|lactose|pollen|cats|penicillin|sesame'.split('|');
const JOB = 'nurse|teacher|architect|chef|pilot|accountant|designer|engineer|lawyer|pharmacist|photographer|carpenter'.split('|');
const COMPANY = 'Northwind|Globex|Initech|Umbrella|Hooli|Vandelay|Wonka|Stark|Wayne|Acme|Cyberdyne|Tyrell'.split('|');
const WEEKDAY = 'Monday Tuesday Wednesday Thursday Friday Saturday Sunday'.split(' ');
const PET = 'dog|cat|parrot|rabbit|turtle|hamster'.split('|');
const PLAN = 'basic|plus|premium|family|business'.split('|');
const PAYMENT = 'card|bank transfer|invoice|PayPal'.split('|');
const HOBBY = 'climbing|sailing|chess|cycling|painting|running|baking|gardening|photography|yoga'.split('|');

interface World {
  customers: string[];
  orders: string[];
  pick<T>(xs: readonly T[]): T;
  r: () => number;
}

const TEMPLATES: ((w: World, c: string) => string)[] = [
  (w, c) => `${c} prefers ${w.pick(DRINK)} in the ${w.pick(DAYPART)}`,
  (w, c) => `${c} lives in ${w.pick(CITY)} near the ${w.pick(LANDMARK)}`,
  (w, c) => `Order ${w.pick(w.orders)} for ${c} was shipped to ${w.pick(CITY)} on ${w.pick(WEEKDAY)}`,
  (w, c) => `${c} is allergic to ${w.pick(ALLERGEN)}`,
  (w, c) => `${c} works as a ${w.pick(JOB)} at ${w.pick(COMPANY)}`,
  (w, c) => `${c} returned the ${w.pick(COLOR)} ${w.pick(PRODUCT)} because it was ${w.pick(PROBLEM)}`,
  (w, c) => `${c} wants to be called on ${w.pick(WEEKDAY)} ${w.pick(DAYPART)}s`,
  (w, c) => `${c}'s favourite colour is ${w.pick(COLOR)} and they have a ${w.pick(PET)}`,
  (w, c) => `${c} subscribes to the ${w.pick(PLAN)} plan and pays by ${w.pick(PAYMENT)}`,
  (w, c) => `${c} ordered a ${w.pick(COLOR)} ${w.pick(PRODUCT)} as a gift for ${w.pick(FIRST)}`,
  (w, c) => `${c} spends weekends ${w.pick(HOBBY)} in ${w.pick(CITY)}`,
  (w, c) => `${c} complained that the ${w.pick(PRODUCT)} arrived ${w.pick(PROBLEM)}`,
];

const QUERIES: ((w: World, c: string) => string)[] = [
  (w, c) => `what does ${c} like to drink in the ${w.pick(DAYPART)}`,
  (_w, c) => `where does ${c} live`,
  (w) => `where is order ${w.pick(w.orders)}`,
  (w, c) => `is ${c} allergic to ${w.pick(ALLERGEN)}`,
  (w, c) => `${c} ${w.pick(PRODUCT)} return ${w.pick(PROBLEM)}`,
  (_w, c) => `when should we call ${c}`,
  (w) => `customers who subscribe to the ${w.pick(PLAN)} plan`,
  (w) => `who ordered a ${w.pick(COLOR)} ${w.pick(PRODUCT)}`,
];

export interface CorpusItem {
  text: string;
  /** Indices (0-based) and float32 values of the non-zero dimensions. */
  idx: Uint16Array;
  val: Float32Array;
}

export interface Corpus {
  items(n: number): CorpusItem[];
  queries(n: number): { text: string; vector: Float64Array }[];
}

/** One tenant's (or agent's) world: its own customers and order numbers. */
export function corpus(seed: number, customers = 40): Corpus {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const w: World = {
    customers: Array.from({ length: customers }, () => `${pick(FIRST)} ${pick(LAST)}`),
    orders: Array.from({ length: 200 }, () => `#${Math.floor(r() * 9e5 + 1e5)}`),
    pick,
    r,
  };
  return {
    items: (n) =>
      Array.from({ length: n }, () => {
        const text = pick(TEMPLATES)(w, pick(w.customers));
        return sparse(text);
      }),
    queries: (n) =>
      Array.from({ length: n }, () => {
        const text = pick(QUERIES)(w, pick(w.customers));
        return { text, vector: Float64Array.from(embedText(text)) };
      }),
  };
}

export function sparse(text: string): CorpusItem {
  const dense = embedText(text);
  const nz: number[] = [];
  dense.forEach((x, i) => x !== 0 && nz.push(i));
  return { text, idx: Uint16Array.from(nz), val: Float32Array.from(nz.map((i) => dense[i]!)) };
}

/** pgvector `sparsevec` text, 1-based indices: `{1:0.5,7:-0.25}/384`. */
export function sparsevecLiteral(item: CorpusItem): string {
  const parts: string[] = [];
  for (let j = 0; j < item.idx.length; j++) parts.push(`${item.idx[j]! + 1}:${item.val[j]!}`);
  return `{${parts.join(',')}}/${EMBEDDING_DIMS}`;
}

/** Cosine distance as pgvector computes it, in float64 over the stored float32 values. */
export function cosineDistance(q: Float64Array, item: CorpusItem): number {
  let dot = 0;
  let nv = 0;
  for (let j = 0; j < item.idx.length; j++) {
    const v = item.val[j]!;
    dot += q[item.idx[j]!]! * v;
    nv += v * v;
  }
  let nq = 0;
  for (const x of q) nq += x * x;
  return nq === 0 || nv === 0 ? Number.NaN : 1 - dot / Math.sqrt(nq * nv);
}

/**
 * recall@k of `returned` distances against brute force over `items`, tolerant of ties: a
 * returned item counts when its exact distance is within the k-th best (+ epsilon for float32
 * rounding). Two memories with the same words have the same distance, and either is right.
 */
export function recallAtK(q: Float64Array, items: readonly CorpusItem[], returnedIds: readonly number[], k: number, eps = 1e-5): number {
  const dist = items.map((it) => cosineDistance(q, it)).filter(Number.isFinite).sort((a, b) => a - b);
  const want = Math.min(k, dist.length);
  if (want === 0) return 1;
  const kth = dist[want - 1]!;
  let good = 0;
  for (const i of returnedIds.slice(0, k)) {
    const d = cosineDistance(q, items[i]!);
    if (Number.isFinite(d) && d <= kth + eps) good++;
  }
  return good / want;
}

/**
 * Dense vectors shaped like a real 384-dimension sentence embedding model's (all-MiniLM,
 * text-embedding-3-small at 384): unit vectors around topic centres that share a common
 * direction (real embeddings are anisotropic: unrelated texts still score about 0.2), so each
 * query has a crowded neighbourhood of near-equal distances. Generated from a seed; no model
 * needed. `vector(c, a, b)` = normalise(centre c + noise a + noise b), which SQL can build from
 * the same tables (`denseSql`) so large sets never travel as text.
 */
export interface DenseSpace {
  dims: number;
  centres: number[][];
  noise: number[][];
  vector(centre: number, a: number, b: number): number[];
  /** A random point of topic `centre` (or of a random topic). */
  sample(r: () => number, centre?: number): number[];
}

export function denseSpace(seed: number, centres = 256, noise = 2048, dims = EMBEDDING_DIMS): DenseSpace {
  const r = rng(seed);
  const gauss = () => {
    let u = 0;
    while (u === 0) u = r();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  };
  const unit = (v: number[]) => {
    let s = 0;
    for (const x of v) s += x * x;
    const n = Math.sqrt(s);
    return v.map((x) => x / n);
  };
  const common = unit(Array.from({ length: dims }, gauss));
  const C = Array.from({ length: centres }, () => unit(unit(Array.from({ length: dims }, gauss)).map((x, i) => x + 0.5 * common[i]!)));
  // Noise of norm ≈ 0.7 per draw: two draws put items of one topic at cosine ≈ 0.5 to each other.
  const sigma = 0.7 / Math.sqrt(dims);
  const N = Array.from({ length: noise }, () => Array.from({ length: dims }, () => Math.fround(gauss() * sigma)));
  const CF = C.map((v) => v.map(Math.fround));
  const vector = (c: number, a: number, b: number) => unit(CF[c]!.map((x, i) => x + N[a]![i]! + N[b]![i]!)).map(Math.fround);
  return {
    dims,
    centres: CF,
    noise: N,
    vector,
    sample: (rr, centre) => vector(centre ?? Math.floor(rr() * centres), Math.floor(rr() * noise), Math.floor(rr() * noise)),
  };
}

/** Cosine distance of two dense vectors, in float64. */
export function denseDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return 1 - cosine(a, b);
}

/**
 * recall@k against brute force, tolerant of ties: a returned item counts when its exact
 * distance is within the true k-th best (+ epsilon for float32 rounding).
 */
export function recallByDistance(trueDistances: readonly number[], returnedDistances: readonly number[], k: number, eps = 1e-5): number {
  const sorted = [...trueDistances].filter(Number.isFinite).sort((a, b) => a - b);
  const want = Math.min(k, sorted.length);
  if (want === 0) return 1;
  const kth = sorted[want - 1]!;
  return returnedDistances.slice(0, k).filter((d) => d <= kth + eps).length / want;
}
