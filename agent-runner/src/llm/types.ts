export type ProviderName = 'openai' | 'anthropic' | 'ollama';
export const PROVIDERS: readonly ProviderName[] = ['openai', 'anthropic', 'ollama'];

export type ChatRole = 'system' | 'user' | 'assistant';

/** A tool invocation the model asked for. `arguments` is always an object. */
export interface ToolCall {
  /** Provider-issued id (OpenAI `call_…`, Anthropic `toolu_…`); synthesized for Ollama, which has none. */
  id: string;
  name: string;
  arguments: Record<string, unknown>;
  /** Set when the model produced arguments that are not a JSON object; tell the model rather than run the tool. */
  invalidArguments?: string;
}

export interface SystemMessage {
  role: 'system';
  content: string;
}
export interface UserMessage {
  role: 'user';
  content: string;
}
export interface AssistantMessage {
  role: 'assistant';
  content: string;
  toolCalls?: ToolCall[];
}
/** The result of one tool call, answering the assistant message that carried `toolCallId`. */
export interface ToolResultMessage {
  role: 'tool';
  toolCallId: string;
  /** The tool's name: Ollama matches results by name, the others by id. */
  name: string;
  content: string;
  /** Anthropic passes this on as `is_error`; the other providers only see the content. */
  isError?: boolean;
}
export type ChatMessage = SystemMessage | UserMessage | AssistantMessage | ToolResultMessage;

/** A tool the model may call; `parameters` is a JSON Schema object. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/**
 * Token counts normalized across providers. `inputTokens` is every prompt token processed,
 * cached or not (OpenAI's `prompt_tokens`; Anthropic's `input_tokens` + cache reads + cache
 * writes; Ollama's `prompt_eval_count`); the cache counts are the parts of it that were read
 * from or written to the provider's prompt cache.
 */
export interface ChatUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'other';

export interface ChatResult {
  provider: ProviderName;
  /** The model that answered, as the provider reports it (often a dated variant). */
  model: string;
  text: string;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  usage: ChatUsage;
  latencyMs: number;
  /** From the price table; null for a model it does not know (usage is still recorded). */
  costUsdMicros: bigint | null;
}

/** One request, as every adapter and the router take it. */
export interface LlmRequest {
  model: string;
  messages: ChatMessage[];
  tools?: ToolSpec[];
  maxTokens?: number;
  temperature?: number;
  /** Per attempt; the router applies it to every try on every deployment. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export type KeySource = 'tenant' | 'platform' | 'none';

export type LlmErrorClass =
  | 'rate_limited'
  | 'overloaded'
  | 'server_error'
  | 'timeout'
  | 'connection'
  | 'auth'
  | 'bad_request'
  | 'not_found'
  | 'invalid_response'
  | 'aborted'
  | 'no_credentials'
  | 'cooldown'
  | 'unknown';

/** One try of one deployment, reported to `onAttempt` as it happens and kept on the result. */
export interface LlmAttempt {
  /** 1-based position among all attempts of this call. */
  seq: number;
  /** `provider:model` as configured. */
  deployment: string;
  provider: ProviderName;
  model: string;
  /** 1-based try on this deployment (retries and the platform-key retry count up). */
  try: number;
  keySource: KeySource;
  outcome: 'ok' | 'error' | 'skipped';
  errorClass?: LlmErrorClass;
  status?: number;
  /** Operator-facing; never the end user's. Keys are redacted. */
  message?: string;
  latencyMs: number;
  /** After a failure: try this deployment again, move on to the next one, or stop. */
  next?: 'retry' | 'fallback' | 'give_up';
  /** The wait before the retry, when `next` is 'retry'. */
  retryInMs?: number;
  usage?: ChatUsage;
  costUsdMicros?: bigint | null;
}

/** What callers of a ChatModel may pass; the routing fields are ignored by single-provider models. */
export interface ChatRequest extends Omit<LlmRequest, 'model'> {
  /** `provider:model`, a bare OpenAI model name, or a model group name. */
  model?: string;
  /** Enables the tenant's own provider keys. */
  tenantId?: string;
  /** `Agent.modelPreferences`, e.g. `{ group: 'default', models: ['anthropic:claude-3-5-haiku-latest'] }`. */
  preferences?: unknown;
  /** Called once per attempt, synchronously; exceptions are logged and swallowed. */
  onAttempt?(attempt: LlmAttempt): void;
}

/** A routed answer: the result plus every attempt that led to it. */
export interface RoutedResult extends ChatResult {
  deployment: string;
  keySource: KeySource;
  /** True when the answer came from a later deployment than the chain's first. */
  fellBack: boolean;
  attempts: LlmAttempt[];
}

/** One model call. Implementations use the vendors' official SDKs. */
export interface ChatModel {
  complete(req: ChatRequest): Promise<ChatResult>;
}

/** The model could not be reached or refused; `reason` is for the operator, never the end user. */
export class LlmUnavailable extends Error {
  readonly attempts: LlmAttempt[];
  constructor(
    readonly reason: string,
    options?: { cause?: unknown; attempts?: LlmAttempt[] },
  ) {
    super(`LLM unavailable: ${reason}`, options);
    this.name = 'LlmUnavailable';
    this.attempts = options?.attempts ?? [];
  }
}

/** The caller's signal ended the call; not an outage, so it is not an LlmUnavailable. */
export class LlmAborted extends Error {
  constructor(readonly attempts: LlmAttempt[] = []) {
    super('LLM call aborted by the caller');
    this.name = 'AbortError';
  }
}
