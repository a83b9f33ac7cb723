import { randomBytes } from 'node:crypto';
import { Ollama, type Message, type Tool } from 'ollama';
import { abortError, classifyStatus, deadline, LlmCallError, redact, retryAfterMs } from '../errors.ts';
import type { ChatMessage, FinishReason, ToolCall } from '../types.ts';
import { finish, toolArguments, type ProviderAdapter, type ProviderRequest } from './adapter.ts';

export function toOllamaMessages(messages: ChatMessage[]): Message[] {
  return messages.map((m): Message => {
    switch (m.role) {
      case 'system':
      case 'user':
        return { role: m.role, content: m.content };
      case 'assistant':
        return m.toolCalls?.length
          ? { role: 'assistant', content: m.content, tool_calls: m.toolCalls.map((c) => ({ function: { name: c.name, arguments: c.arguments } })) }
          : { role: 'assistant', content: m.content };
      case 'tool':
        // Ollama has no call ids; it pairs a result with its call by tool name.
        return { role: 'tool', content: m.content, tool_name: m.name };
    }
  });
}

const FINISH: Record<string, FinishReason> = { stop: 'stop', length: 'length' };

/**
 * /api/chat through the official `ollama` package, non-streaming. The package takes no
 * per-request signal for non-streamed calls, so each call gets a client whose fetch carries
 * this call's deadline (a client is only a config object) and keeps the response headers
 * for Retry-After.
 */
export function createOllamaAdapter(): ProviderAdapter {
  return {
    provider: 'ollama',
    async chat(req: ProviderRequest) {
      const { apiKey, baseUrl } = req.credentials;
      const d = deadline(req.timeoutMs, req.signal);
      let lastHeaders: Headers | undefined;
      const client = new Ollama({
        host: baseUrl,
        ...(apiKey && { headers: { Authorization: `Bearer ${apiKey}` } }),
        fetch: async (input, init) => {
          const res = await fetch(input, { ...init, signal: d.signal });
          lastHeaders = res.headers;
          return res;
        },
      });
      const started = performance.now();
      try {
        const res = await client.chat({
          model: req.model,
          messages: toOllamaMessages(req.messages),
          stream: false,
          ...(req.tools?.length && {
            tools: req.tools.map(
              (t): Tool => ({
                type: 'function',
                function: { name: t.name, description: t.description, parameters: t.parameters as Tool['function']['parameters'] },
              }),
            ),
          }),
          options: { num_predict: req.maxTokens, ...(req.temperature !== undefined && { temperature: req.temperature }) },
        });
        if (!res?.message) throw new LlmCallError('invalid_response', 'Ollama returned no message');
        const toolCalls: ToolCall[] = (res.message.tool_calls ?? []).map((c) => ({
          // Newer servers send an id; older ones none, and the results are matched by name anyway.
          id: (c as { id?: string }).id ?? `ollama_call_${randomBytes(6).toString('hex')}`,
          name: c.function.name,
          ...toolArguments(c.function.arguments),
        }));
        return finish({
          provider: 'ollama',
          model: res.model || req.model,
          text: res.message.content ?? '',
          toolCalls,
          finishReason: toolCalls.length ? 'tool_calls' : (FINISH[res.done_reason] ?? 'other'),
          usage: {
            // Ollama leaves prompt_eval_count out when the whole prompt came from its KV cache.
            inputTokens: res.prompt_eval_count ?? 0,
            outputTokens: res.eval_count ?? 0,
            cacheReadTokens: 0,
            cacheWriteTokens: 0,
          },
          latencyMs: Math.round(performance.now() - started),
        });
      } catch (e) {
        throw toCallError(e, d, req.timeoutMs, apiKey, baseUrl, lastHeaders);
      } finally {
        d.clear();
      }
    },
  };
}

function toCallError(
  e: unknown,
  d: ReturnType<typeof deadline>,
  timeoutMs: number,
  apiKey: string | undefined,
  baseUrl: string,
  headers: Headers | undefined,
): LlmCallError {
  if (e instanceof LlmCallError) return e;
  const aborted = abortError(d, timeoutMs, e);
  if (aborted) return aborted;
  const status = (e as { status_code?: unknown }).status_code;
  if (typeof status === 'number') {
    return new LlmCallError(classifyStatus(status), redact(`Ollama HTTP ${status}: ${(e as Error).message}`, apiKey), {
      status,
      retryAfterMs: retryAfterMs(headers),
    });
  }
  if (e instanceof SyntaxError) return new LlmCallError('invalid_response', `Ollama at ${baseUrl}: unreadable response`, { cause: e });
  // undici reports refused/reset connections as TypeError('fetch failed').
  if (e instanceof TypeError) return new LlmCallError('connection', `Ollama at ${baseUrl}: connection failed`, { cause: e });
  return new LlmCallError('unknown', redact(`Ollama at ${baseUrl}: ${(e as Error)?.message ?? String(e)}`, apiKey));
}
