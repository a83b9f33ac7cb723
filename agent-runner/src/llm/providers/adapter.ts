import { callCostUsdMicros } from '../prices.ts';
import type { ChatResult, LlmRequest, ProviderName } from '../types.ts';

export interface ProviderCredentials {
  /** Optional for Ollama, which usually runs without one. */
  apiKey?: string;
  baseUrl: string;
}

export interface ProviderRequest extends LlmRequest {
  credentials: ProviderCredentials;
  /** Required by Anthropic; the router always sets it. */
  maxTokens: number;
  timeoutMs: number;
}

/**
 * One provider behind the official SDK. `chat` maps our request to the vendor's wire format
 * and back, makes exactly one HTTP request (SDK retries off: the router decides), and throws
 * only LlmCallError.
 */
export interface ProviderAdapter {
  readonly provider: ProviderName;
  chat(req: ProviderRequest): Promise<ChatResult>;
}

export function finish(partial: Omit<ChatResult, 'costUsdMicros'>): ChatResult {
  return { ...partial, costUsdMicros: callCostUsdMicros(partial.provider, partial.model, partial.usage) };
}

/** Tool arguments arrive as JSON text (OpenAI) or objects (Anthropic, Ollama); always hand on an object. */
export function toolArguments(raw: unknown): { arguments: Record<string, unknown>; invalidArguments?: string } {
  let value = raw;
  if (typeof raw === 'string') {
    if (raw.trim() === '') return { arguments: {} };
    try {
      value = JSON.parse(raw);
    } catch {
      return { arguments: {}, invalidArguments: raw };
    }
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) return { arguments: value as Record<string, unknown> };
  return { arguments: {}, invalidArguments: typeof raw === 'string' ? raw : JSON.stringify(raw) };
}
