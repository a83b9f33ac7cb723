import type { TenantScope } from '@konstruct/db';
import type { ToolCall, ToolSpec } from '../llm/types.ts';

/** What a tool call runs on behalf of: the conversation the model is answering in. */
export interface ToolCallContext {
  conversationId: string | null;
  /** The end user the employee is talking to (channel id), for memory search and handoffs. */
  endUserExternalId: string | null;
  /** The inbound message this turn answers. */
  messageId?: string | null;
  /** Ends the call early (the turn was cancelled); the result is an `aborted` error, not a throw. */
  signal?: AbortSignal;
}

export type ToolKindName = 'builtin' | 'http';

/**
 * Why a call failed, as audited and as the model is told. Every one of these comes back as
 * error content for the model; none is thrown.
 */
export type ToolErrorCode =
  | 'unknown_tool'
  | 'invalid_arguments'
  | 'refused_address'
  | 'insecure_url'
  | 'dns_error'
  | 'network_error'
  | 'timeout'
  | 'aborted'
  | 'redirect_refused'
  | 'http_status'
  | 'response_too_large'
  | 'invalid_response'
  | 'misconfigured'
  | 'failed'
  /** The model asked for more calls than the loop allows; not run. */
  | 'not_executed';

/** What the audit trail keeps about a call: never argument values, secrets or response bodies. */
export interface ToolAuditData {
  tool: string;
  toolId: string | null;
  kind: ToolKindName | 'unknown';
  toolCallId: string;
  outcome: 'ok' | 'error' | 'skipped';
  errorCode?: ToolErrorCode;
  /** HTTP status of the tool's endpoint, when it answered. */
  status?: number;
  latencyMs: number;
  /** Top-level argument names the model sent, sorted. */
  argumentKeys: string[];
  /** Bytes of the endpoint's response body read. */
  responseBytes?: number;
}

/** The result of one call, ready to become a `tool` message for the model. */
export interface ToolExecution {
  toolCallId: string;
  name: string;
  /** For the model: the tool's answer, or `{"error":{"code","message"}}` when `isError`. */
  content: string;
  isError: boolean;
  audit: ToolAuditData;
  /** Set by `handoff_to_human` when the handoff was accepted. */
  handoff?: { handoffId: string | null };
}

/** The tools one agent may use, for one turn. */
export interface Toolset {
  readonly scope: TenantScope;
  readonly agentId: string;
  /** For the model, in a stable order (assignment order). */
  readonly specs: ToolSpec[];
  /** Never throws: every failure comes back as an error execution. */
  execute(call: ToolCall, ctx: ToolCallContext): Promise<ToolExecution>;
}

export const BUILTIN_NAMES = ['memory_search', 'current_time', 'handoff_to_human'] as const;
export type BuiltinName = (typeof BUILTIN_NAMES)[number];

export interface MemorySearchHit {
  text: string;
  /** Similarity in [0, 1], higher is closer. */
  score?: number;
  createdAt?: Date | string;
}

/**
 * Long-term memory search, provided by the memory module (agent-runner/src/memory). Returns the
 * best `k` memories of this end user (plus the agent's shared ones); throws or rejects when the
 * search cannot be done, which the tool reports to the model as an error.
 */
export type SearchMemory = (
  scope: TenantScope,
  agentId: string,
  endUserExternalId: string | null,
  query: string,
  k: number,
) => Promise<MemorySearchHit[]>;

export interface HandoffRequest {
  scope: TenantScope;
  agentId: string;
  conversationId: string;
  endUserExternalId: string | null;
  messageId: string | null;
  /** Why the employee hands over, in the model's words. */
  reason: string;
  /** What the human needs to know, in the model's words. */
  summary: string;
  /** The model's tool call id, so the same request is not handled twice. */
  toolCallId: string;
}

export type HandoffOutcome = { ok: true; handoffId: string | null } | { ok: false; error: string };

/** Starts a handoff to a human (the escalation module): posts to the human channel and pauses the conversation. */
export type RequestHandoff = (req: HandoffRequest) => Promise<HandoffOutcome>;
