/**
 * The conversation window's message shape: a chat transcript with tool calls, as the LLM
 * router's `ChatMessage` (llm/types.ts) has it, minus system messages — the window holds what
 * was said, the prompt builder adds the instructions. Kept structurally identical so entries
 * pass to the router as they are.
 */

export interface WindowToolCall {
  id: string;
  name: string;
  arguments: Record<string, unknown>;
  /** Arguments the model produced that were not a JSON object (kept for the transcript). */
  invalidArguments?: string;
}

export interface WindowUserEntry {
  role: 'user';
  content: string;
}

export interface WindowAssistantEntry {
  role: 'assistant';
  content: string;
  toolCalls?: WindowToolCall[];
}

export interface WindowToolEntry {
  role: 'tool';
  toolCallId: string;
  name: string;
  content: string;
  isError?: boolean;
}

export type WindowEntry = WindowUserEntry | WindowAssistantEntry | WindowToolEntry;

/**
 * The unit the window stores, replaces and trims: normally one turn — the user's message and
 * everything the employee did about it (tool calls, their results, the reply). A turn is
 * never split, so a tool call never loses its result. `id` is the inbound message's id: a
 * redelivered turn replaces the earlier copy instead of adding a second one.
 */
export interface WindowTurn {
  id: string;
  entries: WindowEntry[];
}
