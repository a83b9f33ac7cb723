/**
 * Word-level relevance between a message and the agent's business functions: the content words
 * they share after a light stemming. Deterministic and cheap; it does not try to understand
 * meaning, only to notice that "who founded the bakery?" is about the bakery.
 */

// Function words, plus words so common in business functions ("questions about …", "help
// with …") that sharing them says nothing about the topic.
const STOPWORDS = new Set(
  `a an the and or but if then else of to in on at by for with from into onto over under about above below
   is are was were be been being am do does did done have has had having can could will would shall should may might must
   i me my mine we us our ours you your yours he him his she her hers it its they them their theirs this that these those
   what which who whom whose when where why how there here all any some each every no not only just also very too more most
   so than such as up down out off again once please thanks thank hello hi hey yes okay ok
   help helps helping question questions information info support service services customer customers general request requests
   thing things stuff something anything everything someone anyone me tell give make get got want need like know let`
    .split(/\s+/)
    .filter(Boolean),
);

/** Lowercase, accents removed, split on anything that is not a letter or digit. */
export function words(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

/** Crude suffix stripping, enough for plurals and verb forms to meet ("orders"/"ordering" → "order"). */
export function stem(word: string): string {
  if (word.length <= 4) return word;
  if (word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.endsWith('ing') && word.length > 5) return word.slice(0, -3);
  if (word.endsWith('ed') && word.length > 4) return word.slice(0, -2);
  if (word.endsWith('es') && /(ss|x|z|ch|sh)es$/.test(word)) return word.slice(0, -2);
  if (word.endsWith('s') && !word.endsWith('ss')) return word.slice(0, -1);
  return word;
}

/** The stems of the content words of a text. */
export function contentStems(text: string): Set<string> {
  const out = new Set<string>();
  for (const w of words(text)) {
    if (w.length < 3 || STOPWORDS.has(w) || /^\d+$/.test(w)) continue;
    out.add(stem(w));
  }
  return out;
}

/** Content stems the two texts share, sorted. */
export function sharedStems(a: string, b: string | readonly string[]): string[] {
  const left = contentStems(a);
  const right = contentStems(typeof b === 'string' ? b : b.join(' \n '));
  return [...left].filter((s) => right.has(s)).sort();
}
