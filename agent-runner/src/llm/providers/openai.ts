import OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { abortError, classifyStatus, deadline, LlmCallError, redact, retryAfterMs } from '../errors.ts';
import type { ChatMessage, FinishReason, ToolCall } from '../types.ts';
import { ClientCache } from './client-cache.ts';
import { finish, toolArguments, type ProviderAdapter, type ProviderRequest } from './adapter.ts';

export interface OpenAiAdapterOptions {
  /** SDK-level retries; 0 (the default) leaves retrying to the router. */
  maxRetries?: number;
}

export function toOpenAiMessages(messages: ChatMessage[]): ChatCompletionMessageParam[] {
  return messages.map((m): ChatCompletionMessageParam => {
    switch (m.role) {
      case 'system':
      case 'user':
        return { role: m.role, content: m.content };
      case 'assistant':
        if (!m.toolCalls?.length) return { role: 'assistant', content: m.content };
        return {
          role: 'assistant',
          // OpenAI sends null content alongside tool calls; echo it back the same way.
          content: m.content || null,
          tool_calls: m.toolCalls.map((c) => ({
            id: c.id,
            type: 'function' as const,
            function: { name: c.name, arguments: c.invalidArguments ?? JSON.stringify(c.arguments) },
          })),
        };
      case 'tool':
        return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
    }
  });
}

const FINISH: Record<string, FinishReason> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool_calls',
  function_call: 'tool_calls',
  content_filter: 'content_filter',
};

/** Chat Completions through the official `openai` SDK (OpenAI or any compatible server). */
export function createOpenAiAdapter(opts: OpenAiAdapterOptions = {}): ProviderAdapter {
  const clients = new ClientCache(
    (baseURL, apiKey) =>
      // organization/project null: the SDK would otherwise pick them up from the process env.
      new OpenAI({ apiKey, baseURL, maxRetries: opts.maxRetries ?? 0, organization: null, project: null }),
  );
  return {
    provider: 'openai',
    async chat(req: ProviderRequest) {
      const { apiKey, baseUrl } = req.credentials;
      if (!apiKey) throw new LlmCallError('no_credentials', 'no OpenAI API key');
      const client = clients.get(baseUrl, apiKey);
      const body: ChatCompletionCreateParamsNonStreaming = {
        model: req.model,
        messages: toOpenAiMessages(req.messages),
        max_completion_tokens: req.maxTokens,
        ...(req.temperature !== undefined && { temperature: req.temperature }),
        ...(req.tools?.length && {
          tools: req.tools.map((t) => ({
            type: 'function' as const,
            function: { name: t.name, description: t.description, parameters: t.parameters },
          })),
        }),
      };
      const d = deadline(req.timeoutMs, req.signal);
      const started = performance.now();
      try {
        // The SDK's own timeout stays above ours so the deadline is what ends a slow call.
        const res = await client.chat.completions.create(body, { signal: d.signal, timeout: req.timeoutMs + 1000 });
        const choice = res.choices[0];
        if (!choice) throw new LlmCallError('invalid_response', 'OpenAI returned no choices');
        const toolCalls: ToolCall[] = (choice.message.tool_calls ?? []).flatMap((c) =>
          c.type === 'function' ? [{ id: c.id, name: c.function.name, ...toolArguments(c.function.arguments) }] : [],
        );
        return finish({
          provider: 'openai',
          model: res.model || req.model,
          text: choice.message.content ?? '',
          toolCalls,
          finishReason: FINISH[choice.finish_reason] ?? 'other',
          usage: {
            inputTokens: res.usage?.prompt_tokens ?? 0,
            outputTokens: res.usage?.completion_tokens ?? 0,
            cacheReadTokens: res.usage?.prompt_tokens_details?.cached_tokens ?? 0,
            cacheWriteTokens: 0,
          },
          latencyMs: Math.round(performance.now() - started),
        });
      } catch (e) {
        throw toCallError(e, d, req.timeoutMs, apiKey, baseUrl);
      } finally {
        d.clear();
      }
    },
  };
}

function toCallError(e: unknown, d: ReturnType<typeof deadline>, timeoutMs: number, apiKey: string, baseUrl: string): LlmCallError {
  if (e instanceof LlmCallError) return e;
  const aborted = abortError(d, timeoutMs, e);
  if (aborted) return aborted;
  if (e instanceof OpenAI.APIConnectionTimeoutError) return new LlmCallError('timeout', `OpenAI at ${baseUrl}: request timed out`, { cause: e });
  if (e instanceof OpenAI.APIConnectionError) {
    return new LlmCallError('connection', `OpenAI at ${baseUrl}: connection failed`, { cause: e });
  }
  if (e instanceof OpenAI.APIError && typeof e.status === 'number') {
    return new LlmCallError(classifyStatus(e.status), redact(`OpenAI HTTP ${e.status}: ${e.message}`, apiKey), {
      status: e.status,
      retryAfterMs: retryAfterMs(e.headers),
      // No cause: the SDK's message may quote the key, and a logged cause would carry it on.
    });
  }
  return new LlmCallError('unknown', redact(`OpenAI at ${baseUrl}: ${(e as Error)?.message ?? String(e)}`, apiKey));
}
