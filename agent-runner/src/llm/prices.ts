import type { ChatUsage, ProviderName } from './types.ts';

/** USD per million tokens. Cache writes cost more than plain input on Anthropic, cache reads less everywhere. */
export interface Price {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

const price = (input: number, output: number, cacheRead: number, cacheWrite = input): Price => ({ input, output, cacheRead, cacheWrite });

/** OpenAI: cached prompt tokens at the discounted rate; there is no separate cache-write charge. */
const OPENAI: Record<string, Price> = {
  'gpt-4o-mini': price(0.15, 0.6, 0.075),
  'gpt-4o': price(2.5, 10, 1.25),
  'gpt-4.1-mini': price(0.4, 1.6, 0.1),
  'gpt-4.1': price(2, 8, 0.5),
};

/** Anthropic: 5-minute cache writes at 1.25× input, cache reads at 0.1× input. */
const ANTHROPIC: Record<string, Price> = {
  'claude-opus-4-5': price(5, 25, 0.5, 6.25),
  'claude-opus-4-1': price(15, 75, 1.5, 18.75),
  'claude-opus-4': price(15, 75, 1.5, 18.75),
  'claude-opus-4-0': price(15, 75, 1.5, 18.75),
  'claude-sonnet-4-5': price(3, 15, 0.3, 3.75),
  'claude-sonnet-4': price(3, 15, 0.3, 3.75),
  'claude-sonnet-4-0': price(3, 15, 0.3, 3.75),
  'claude-haiku-4-5': price(1, 5, 0.1, 1.25),
  'claude-3-7-sonnet': price(3, 15, 0.3, 3.75),
  'claude-3-5-sonnet': price(3, 15, 0.3, 3.75),
  'claude-3-5-haiku': price(0.8, 4, 0.08, 1),
  'claude-3-haiku': price(0.25, 1.25, 0.03, 0.3),
  'claude-3-opus': price(15, 75, 1.5, 18.75),
};

/** Models served by the platform's own Ollama cost no per-token fee. */
const FREE: Price = price(0, 0, 0, 0);

/** The exact name, its dated snapshots (`-2024…`) and Anthropic's `-latest` alias; nothing else. */
function lookup(table: Record<string, Price>, model: string): Price | null {
  const exact = table[model];
  if (exact) return exact;
  const key = Object.keys(table).find((k) => model === `${k}-latest` || model.startsWith(`${k}-20`));
  return key ? table[key]! : null;
}

export function priceOf(provider: ProviderName, model: string): Price | null {
  if (provider === 'ollama') return FREE;
  return lookup(provider === 'anthropic' ? ANTHROPIC : OPENAI, model);
}

/**
 * Cost of one call in micro-dollars (price per million tokens × tokens). Cached tokens are
 * part of `inputTokens` (see ChatUsage) and priced at their own rate instead of the input rate.
 */
export function callCostUsdMicros(provider: ProviderName, model: string, usage: ChatUsage): bigint | null {
  const p = priceOf(provider, model);
  if (!p) return null;
  const uncached = Math.max(0, usage.inputTokens - usage.cacheReadTokens - usage.cacheWriteTokens);
  return BigInt(
    Math.round(uncached * p.input + usage.cacheReadTokens * p.cacheRead + usage.cacheWriteTokens * p.cacheWrite + usage.outputTokens * p.output),
  );
}

/**
 * Cost without cache detail, provider inferred from the model name. Kept for callers that
 * only know the model; routed results carry `costUsdMicros` computed with the cache rates.
 */
export function costUsdMicros(model: string, inputTokens: number, outputTokens: number): bigint | null {
  const provider: ProviderName = model.startsWith('claude-') ? 'anthropic' : 'openai';
  return callCostUsdMicros(provider, model, { inputTokens, outputTokens, cacheReadTokens: 0, cacheWriteTokens: 0 });
}
