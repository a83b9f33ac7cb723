import type { WindowEntry } from './types.ts';

/**
 * A cheap, deliberately conservative token estimate — no tokenizer download, no model-specific
 * tables. English averages about 4 characters per token with OpenAI's and Anthropic's
 * tokenizers, so ASCII counts a quarter token per character; other scripts get far fewer
 * characters per token (CJK about one), so every non-ASCII code point counts as a whole
 * token. That overestimates accented Latin text, which only makes the window a little shorter.
 * Each message adds a few tokens of framing (role, separators), as the chat formats do.
 */
export const MESSAGE_OVERHEAD_TOKENS = 4;

export function estimateTextTokens(text: string): number {
  let ascii = 0;
  let other = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) ascii++;
    // A surrogate pair is one code point: count its high half only.
    else if (c < 0xdc00 || c > 0xdfff) other++;
  }
  return Math.ceil(ascii / 4) + other;
}

export function estimateEntryTokens(entry: WindowEntry): number {
  let n = MESSAGE_OVERHEAD_TOKENS + estimateTextTokens(entry.content);
  if (entry.role === 'assistant') {
    for (const call of entry.toolCalls ?? []) {
      n += MESSAGE_OVERHEAD_TOKENS + estimateTextTokens(call.name) + estimateTextTokens(call.invalidArguments ?? JSON.stringify(call.arguments));
    }
  }
  if (entry.role === 'tool') n += estimateTextTokens(entry.name);
  return n;
}

export const estimateEntriesTokens = (entries: readonly WindowEntry[]) => entries.reduce((n, e) => n + estimateEntryTokens(e), 0);
