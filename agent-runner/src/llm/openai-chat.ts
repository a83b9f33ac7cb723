import { LlmCallError } from './errors.ts';
import { createOpenAiAdapter } from './providers/openai.ts';
import { LlmUnavailable, type ChatModel, type ChatResult } from './types.ts';

export interface OpenAiChatOptions {
  baseUrl: string;
  apiKey: string | undefined;
  timeoutMs: number;
  maxRetries?: number;
  maxTokens?: number;
}

/**
 * A single OpenAI deployment as a ChatModel, without routing or tenant keys (the runner's
 * original model; LlmRouter supersedes it). Model names may carry an `openai:` prefix.
 */
export function createOpenAiChat(opts: OpenAiChatOptions): ChatModel {
  const adapter = createOpenAiAdapter({ maxRetries: opts.maxRetries ?? 1 });
  return {
    async complete(req): Promise<ChatResult> {
      if (!opts.apiKey) throw new LlmUnavailable('no OpenAI API key configured (set OPENAI_API_KEY)');
      if (!req.model) throw new LlmUnavailable('no model named');
      try {
        return await adapter.chat({
          ...req,
          model: req.model.replace(/^openai:/, ''),
          maxTokens: req.maxTokens ?? opts.maxTokens ?? 1024,
          timeoutMs: req.timeoutMs ?? opts.timeoutMs,
          credentials: { apiKey: opts.apiKey, baseUrl: opts.baseUrl },
        });
      } catch (e) {
        const reason = e instanceof LlmCallError ? e.message : (e as Error).message;
        throw new LlmUnavailable(`OpenAI at ${opts.baseUrl}: ${reason}`, { cause: e });
      }
    },
  };
}
