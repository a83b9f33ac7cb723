import Anthropic from '@anthropic-ai/sdk';
import type {
  ContentBlockParam,
  MessageCreateParamsNonStreaming,
  MessageParam,
  TextBlockParam,
  Tool,
} from '@anthropic-ai/sdk/resources/messages';
import { abortError, classifyStatus, deadline, LlmCallError, redact, retryAfterMs } from '../errors.ts';
import type { ChatMessage, FinishReason, ToolCall } from '../types.ts';
import { ClientCache } from './client-cache.ts';
import { finish, type ProviderAdapter, type ProviderRequest } from './adapter.ts';

export interface AnthropicAdapterOptions {
  maxRetries?: number;
  /**
   * Marks the system prompt as a prompt-cache breakpoint. An employee's system prompt is the
   * same on every turn, so after the first call it is read from the cache at 0.1× the input
   * price (written once at 1.25×). Prompts below the model's minimum are simply not cached.
   */
  cacheSystemPrompt?: boolean;
}

/**
 * Messages API shape: system text goes top-level; tool calls are `tool_use` blocks on the
 * assistant turn; tool results are `tool_result` blocks on the following user turn, all
 * results of one assistant turn in that one user message, before any user text.
 */
export function toAnthropicRequest(messages: ChatMessage[], cacheSystemPrompt: boolean): { system?: TextBlockParam[]; messages: MessageParam[] } {
  const systemText = messages
    .filter((m) => m.role === 'system')
    .map((m) => m.content)
    .filter(Boolean)
    .join('\n\n');
  const out: MessageParam[] = [];
  const push = (role: 'user' | 'assistant', blocks: ContentBlockParam[]) => {
    if (!blocks.length) return;
    const last = out.at(-1);
    if (last?.role === role && Array.isArray(last.content)) {
      // Results first: Anthropic wants tool_result blocks at the start of the user turn.
      const merged = [...last.content, ...blocks];
      last.content = role === 'user' ? [...merged.filter(isToolResult), ...merged.filter((b) => !isToolResult(b))] : merged;
    } else {
      out.push({ role, content: blocks });
    }
  };
  for (const m of messages) {
    switch (m.role) {
      case 'system':
        break;
      case 'user':
        // Empty text blocks are rejected by the API.
        push('user', m.content ? [{ type: 'text', text: m.content }] : []);
        break;
      case 'assistant':
        push('assistant', [
          ...(m.content ? [{ type: 'text' as const, text: m.content }] : []),
          ...(m.toolCalls ?? []).map((c) => ({ type: 'tool_use' as const, id: c.id, name: c.name, input: c.arguments })),
        ]);
        break;
      case 'tool':
        push('user', [{ type: 'tool_result', tool_use_id: m.toolCallId, content: m.content, ...(m.isError && { is_error: true }) }]);
        break;
    }
  }
  const system: TextBlockParam[] | undefined = systemText
    ? [{ type: 'text', text: systemText, ...(cacheSystemPrompt && { cache_control: { type: 'ephemeral' as const } }) }]
    : undefined;
  return { ...(system && { system }), messages: out };
}

const isToolResult = (b: ContentBlockParam) => b.type === 'tool_result';

const FINISH: Record<string, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

/** The Messages API through the official `@anthropic-ai/sdk`. */
export function createAnthropicAdapter(opts: AnthropicAdapterOptions = {}): ProviderAdapter {
  const clients = new ClientCache((baseURL, apiKey) => new Anthropic({ apiKey, baseURL, maxRetries: opts.maxRetries ?? 0 }));
  const cacheSystemPrompt = opts.cacheSystemPrompt ?? true;
  return {
    provider: 'anthropic',
    async chat(req: ProviderRequest) {
      const { apiKey, baseUrl } = req.credentials;
      if (!apiKey) throw new LlmCallError('no_credentials', 'no Anthropic API key');
      const client = clients.get(baseUrl, apiKey);
      const { system, messages } = toAnthropicRequest(req.messages, cacheSystemPrompt);
      const body: MessageCreateParamsNonStreaming = {
        model: req.model,
        max_tokens: req.maxTokens,
        messages,
        ...(system && { system }),
        ...(req.temperature !== undefined && { temperature: req.temperature }),
        ...(req.tools?.length && {
          tools: req.tools.map(
            (t): Tool => ({
              name: t.name,
              description: t.description,
              input_schema: { ...t.parameters, type: 'object' },
            }),
          ),
        }),
      };
      const d = deadline(req.timeoutMs, req.signal);
      const started = performance.now();
      try {
        const res = await client.messages.create(body, { signal: d.signal, timeout: req.timeoutMs + 1000 });
        const text = res.content.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('');
        const toolCalls: ToolCall[] = res.content.flatMap((b) =>
          b.type === 'tool_use'
            ? [{ id: b.id, name: b.name, arguments: b.input && typeof b.input === 'object' ? (b.input as Record<string, unknown>) : {} }]
            : [],
        );
        const cacheRead = res.usage.cache_read_input_tokens ?? 0;
        const cacheWrite = res.usage.cache_creation_input_tokens ?? 0;
        return finish({
          provider: 'anthropic',
          model: res.model || req.model,
          text,
          toolCalls,
          finishReason: (res.stop_reason && FINISH[res.stop_reason]) || (toolCalls.length ? 'tool_calls' : 'other'),
          usage: {
            // Anthropic's input_tokens excludes the cached parts; ours includes them.
            inputTokens: res.usage.input_tokens + cacheRead + cacheWrite,
            outputTokens: res.usage.output_tokens,
            cacheReadTokens: cacheRead,
            cacheWriteTokens: cacheWrite,
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
  if (e instanceof Anthropic.APIConnectionTimeoutError) {
    return new LlmCallError('timeout', `Anthropic at ${baseUrl}: request timed out`, { cause: e });
  }
  if (e instanceof Anthropic.APIConnectionError) {
    return new LlmCallError('connection', `Anthropic at ${baseUrl}: connection failed`, { cause: e });
  }
  if (e instanceof Anthropic.APIError && typeof e.status === 'number') {
    const type = e.type ? ` ${e.type}` : '';
    return new LlmCallError(classifyStatus(e.status), redact(`Anthropic HTTP ${e.status}${type}: ${e.apiMessage ?? e.message}`, apiKey), {
      status: e.status,
      retryAfterMs: retryAfterMs(e.headers),
    });
  }
  return new LlmCallError('unknown', redact(`Anthropic at ${baseUrl}: ${(e as Error)?.message ?? String(e)}`, apiKey));
}
