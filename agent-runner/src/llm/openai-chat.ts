import OpenAI from 'openai';
import { LlmUnavailable, type ChatModel, type ChatResult } from './types.ts';

export interface OpenAiChatOptions {
  baseUrl: string;
  apiKey: string | undefined;
  timeoutMs: number;
  maxRetries?: number;
}

/** Chat completions through the official `openai` SDK (OpenAI or any compatible server). */
export function createOpenAiChat(opts: OpenAiChatOptions): ChatModel {
  const client = opts.apiKey
    ? new OpenAI({ apiKey: opts.apiKey, baseURL: opts.baseUrl, timeout: opts.timeoutMs, maxRetries: opts.maxRetries ?? 1 })
    : null;
  return {
    async complete({ model, messages, signal }): Promise<ChatResult> {
      if (!client) throw new LlmUnavailable('no OpenAI API key configured (set OPENAI_API_KEY)');
      const started = performance.now();
      try {
        const res = await client.chat.completions.create({ model, messages }, signal ? { signal } : undefined);
        const text = res.choices[0]?.message?.content ?? '';
        return {
          provider: 'openai',
          model: res.model || model,
          text,
          usage: {
            inputTokens: res.usage?.prompt_tokens ?? 0,
            outputTokens: res.usage?.completion_tokens ?? 0,
            cacheReadTokens: res.usage?.prompt_tokens_details?.cached_tokens ?? 0,
          },
          latencyMs: Math.round(performance.now() - started),
        };
      } catch (e) {
        if (e instanceof OpenAI.APIError) {
          const status = e.status ? `HTTP ${e.status}` : 'connection failed';
          throw new LlmUnavailable(`OpenAI at ${opts.baseUrl}: ${status}: ${e.message}`, { cause: e });
        }
        throw new LlmUnavailable(`OpenAI at ${opts.baseUrl}: ${(e as Error).message}`, { cause: e });
      }
    },
  };
}
