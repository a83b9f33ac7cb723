import { parseDeployment } from '../llm/deployments.ts';
import { priceOf, type Price } from '../llm/prices.ts';
import type { ChatMessage, ChatResult, ProviderName, ToolSpec } from '../llm/types.ts';
import type { UsageAmounts } from './types.ts';

/**
 * Allowances for the tokens a provider adds around the text it is given. Generous on purpose:
 * the estimate must be an upper bound (see estimateCall).
 */
export const TOKEN_ALLOWANCE = {
  /** Priming / end-of-prompt tokens of one request. */
  perRequest: 16,
  /** Role and separator tokens of one message (OpenAI adds about 4, chat templates up to ~10). */
  perMessage: 12,
  /** Name and framing of one tool definition, beyond its JSON. */
  perTool: 16,
  /** Anthropic adds a tool-use system prompt of ~350 tokens whenever tools are offered. */
  toolsPreamble: 512,
} as const;

export interface CallEstimateInput {
  messages: readonly ChatMessage[];
  tools?: readonly ToolSpec[];
  /**
   * The output cap of the call. The caller must send this same value as the request's
   * `maxTokens`, so the provider cannot produce more than was reserved.
   */
  maxOutputTokens: number;
  /**
   * Every deployment that may answer (the fallback chain, as `provider:model` or parsed): the
   * money estimate is priced at the dearest of them, since any could end up serving the call.
   */
  deployments: readonly (string | { provider: ProviderName; model: string })[];
  /**
   * UTF-8 bytes counted as one token. 1 (the default) makes the input estimate a true upper
   * bound: byte-level BPE tokenizers (OpenAI, Anthropic, Llama 3) never produce a token for
   * less than one byte. A larger value (English text averages ~4 bytes per token) gives a
   * tighter estimate that can be exceeded, and with it the overshoot bound.
   */
  bytesPerToken?: number;
  price?: (provider: ProviderName, model: string) => Price | null;
}

export interface CallEstimate extends UsageAmounts {
  inputTokens: number;
  outputTokens: number;
}

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** Upper bound of the prompt tokens of a request. */
export function promptTokenBound(messages: readonly ChatMessage[], tools: readonly ToolSpec[] = [], bytesPerToken = 1): number {
  let b = 0;
  let framing = TOKEN_ALLOWANCE.perRequest;
  for (const m of messages) {
    framing += TOKEN_ALLOWANCE.perMessage;
    b += bytes(m.content);
    if (m.role === 'assistant') {
      for (const c of m.toolCalls ?? []) {
        framing += TOKEN_ALLOWANCE.perMessage;
        b += bytes(c.id) + bytes(c.name) + bytes(JSON.stringify(c.arguments));
      }
    } else if (m.role === 'tool') {
      b += bytes(m.toolCallId) + bytes(m.name);
    }
  }
  if (tools.length) {
    framing += TOKEN_ALLOWANCE.toolsPreamble;
    for (const t of tools) {
      framing += TOKEN_ALLOWANCE.perTool;
      b += bytes(t.name) + bytes(t.description) + bytes(JSON.stringify(t.parameters));
    }
  }
  return framing + Math.ceil(b / Math.max(1, bytesPerToken));
}

/**
 * What to reserve before an LLM call: prompt tokens bounded from the request's bytes, plus the
 * output cap, in tokens; and that usage priced at the dearest deployment that may answer —
 * input at its dearer input rate (a cache write costs more than plain input on Anthropic),
 * output at its output rate — rounded up to whole micro-dollars.
 *
 * A deployment missing from the price table adds nothing to the money estimate, matching
 * settlement: such a call's cost is unknown (ChatResult.costUsdMicros null) and is charged as 0.
 * Keep the price table complete for models that money budgets should see.
 */
export function estimateCall(input: CallEstimateInput): CallEstimate {
  const price = input.price ?? priceOf;
  const inputTokens = promptTokenBound(input.messages, input.tools, input.bytesPerToken);
  const outputTokens = Math.max(0, Math.ceil(input.maxOutputTokens));
  let usd = 0n;
  for (const d of input.deployments) {
    const dep = typeof d === 'string' ? parseDeployment(d) : d;
    const p = dep && price(dep.provider, dep.model);
    if (!p) continue;
    const micros = BigInt(Math.ceil(inputTokens * Math.max(p.input, p.cacheWrite) + outputTokens * p.output));
    if (micros > usd) usd = micros;
  }
  return { inputTokens, outputTokens, tokens: inputTokens + outputTokens, usdMicros: usd };
}

/** A finished call's usage in budget units: what settle charges. Unknown cost counts as 0. */
export function actualUsage(call: Pick<ChatResult, 'usage' | 'costUsdMicros'>): UsageAmounts {
  return { tokens: call.usage.inputTokens + call.usage.outputTokens, usdMicros: call.costUsdMicros ?? 0n };
}
