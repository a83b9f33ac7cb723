export type ChatRole = 'system' | 'user' | 'assistant';
export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface ChatUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
}

export interface ChatResult {
  provider: 'openai' | 'anthropic' | 'ollama';
  model: string;
  text: string;
  usage: ChatUsage;
  latencyMs: number;
}

/** One model call. Implementations use the vendors' official SDKs. */
export interface ChatModel {
  complete(req: { model: string; messages: ChatMessage[]; signal?: AbortSignal }): Promise<ChatResult>;
}

/** The model could not be reached or refused; `reason` is for the operator, never the end user. */
export class LlmUnavailable extends Error {
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`LLM unavailable: ${reason}`, options);
    this.name = 'LlmUnavailable';
  }
}
