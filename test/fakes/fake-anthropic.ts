import { sendJson, startRecordingServer, type FakeServer, type RecordedRequest } from './recording-server.ts';
import { estimateTokens } from './fake-openai.ts';

export type { RecordedRequest } from './recording-server.ts';

/**
 * A content block as the Messages API accepts it: `text` {text}, `tool_use` {id, name, input},
 * `tool_result` {tool_use_id, content, is_error}, … — kept loose so tests can send anything.
 */
export interface AnthropicBlock {
  type: string;
  [key: string]: unknown;
}

export interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: string | AnthropicBlock[];
}

export interface MessagesRequest {
  model: string;
  max_tokens: number;
  messages: AnthropicMessage[];
  system?: string | { type: 'text'; text: string; cache_control?: unknown }[];
  tools?: { name: string; description?: string; input_schema: unknown }[];
  temperature?: number;
  [key: string]: unknown;
}

export interface AnthropicUsageOverride {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
}

/** Anthropic's error types: invalid_request_error 400, authentication_error 401, rate_limit_error 429, api_error 500, overloaded_error 529. */
export interface AnthropicErrorBody {
  type: string;
  message: string;
}

export type MessagesReply = { delayMs?: number } & (
  | { text: string; stopReason?: 'end_turn' | 'max_tokens' | 'stop_sequence' | 'refusal'; usage?: AnthropicUsageOverride; model?: string }
  | { toolUses: { name: string; input: Record<string, unknown>; id?: string }[]; text?: string; usage?: AnthropicUsageOverride; model?: string }
  /** retryAfterSec is sent as the retry-after header (Anthropic sends it on 429 and 529). */
  | { status: number; error: AnthropicErrorBody; retryAfterSec?: number }
);

export type MessagesResponder = (
  request: MessagesRequest,
  meta: { call: number; recorded: RecordedRequest },
) => MessagesReply | Promise<MessagesReply>;

export interface FakeAnthropicOptions {
  port?: number;
  /** When set, any other key (x-api-key or bearer) gets Anthropic's authentication_error 401. */
  apiKey?: string;
}

export interface FakeAnthropic extends FakeServer {
  respond(fn?: MessagesResponder): void;
  /** Parsed bodies of every accepted POST /v1/messages, in arrival order. */
  messageRequests(): MessagesRequest[];
}

export function textOfContent(content: AnthropicMessage['content']): string {
  if (typeof content === 'string') return content;
  return content.map((b) => (b.type === 'text' ? String(b.text) : '')).join('');
}

export const echoMessage = (request: MessagesRequest): MessagesReply => {
  const lastUser = [...request.messages].reverse().find((m) => m.role === 'user' && textOfContent(m.content));
  return { text: `Echo: ${lastUser ? textOfContent(lastUser.content) : ''}` };
};

const errorBody = (type: string, message: string, requestId: string) => ({ type: 'error', error: { type, message }, request_id: requestId });

/**
 * The checks the real API makes that a client mapping can get wrong: the system prompt must
 * be top-level, every tool_use must be answered by a tool_result in the next user message
 * (and only there), and max_tokens is required.
 */
function validate(body: Record<string, unknown>): string | null {
  if (typeof body.model !== 'string') return 'model: Field required';
  if (typeof body.max_tokens !== 'number') return 'max_tokens: Field required';
  if (!Array.isArray(body.messages)) return 'messages: Field required';
  const messages = body.messages as AnthropicMessage[];
  for (const [i, m] of messages.entries()) {
    if (m.role !== 'user' && m.role !== 'assistant') {
      return `messages.${i}.role: Input should be 'user' or 'assistant'` + ((m.role as string) === 'system' ? '. Use the top-level `system` parameter for system prompts.' : '');
    }
    const blocks = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content;
    if (!Array.isArray(blocks) || blocks.length === 0) return `messages.${i}: all messages must have non-empty content`;
    for (const b of blocks) {
      if (b.type === 'text' && !b.text) return `messages.${i}: text content blocks must be non-empty`;
      if (b.type === 'tool_use' && m.role !== 'assistant') return `messages.${i}: tool_use blocks may only appear in assistant messages`;
      if (b.type === 'tool_result' && m.role !== 'user') return `messages.${i}: tool_result blocks may only appear in user messages`;
    }
    const toolUses = blocks.filter((b) => b.type === 'tool_use').map((b) => String(b.id));
    if (toolUses.length) {
      const next = messages[i + 1];
      const nextBlocks = next && typeof next.content !== 'string' ? next.content : [];
      const answered = new Set(nextBlocks.filter((b) => b.type === 'tool_result').map((b) => String(b.tool_use_id)));
      const missing = toolUses.filter((id) => !answered.has(id));
      if (missing.length) {
        return `messages.${i + 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`;
      }
    }
    if (m.role === 'user' && typeof m.content !== 'string') {
      const prev = messages[i - 1];
      const prevIds = new Set(
        prev && typeof prev.content !== 'string' ? prev.content.filter((b) => b.type === 'tool_use').map((b) => String(b.id)) : [],
      );
      for (const b of m.content) {
        if (b.type === 'tool_result' && !prevIds.has(String(b.tool_use_id))) {
          return `messages.${i}.content: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${String(b.tool_use_id)}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
        }
      }
    }
  }
  return null;
}

/** A fake of the Anthropic Messages API (POST /v1/messages, non-streaming) in its real wire format. */
export async function start({ port = 0, apiKey }: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  let responder: MessagesResponder = echoMessage;
  let seq = 0;
  const bodies: MessagesRequest[] = [];
  const nextId = (prefix: string) => `${prefix}${String(++seq).padStart(16, '0')}`;

  const server = await startRecordingServer(port, async (req, res, { sleep }) => {
    const requestId = nextId('req_fake');
    const send = (status: number, body: unknown, extra: Record<string, string> = {}) =>
      sendJson(res, status, body, { 'request-id': requestId, ...extra });

    // API keys travel as x-api-key, or as a bearer token (what @anthropic-ai/sdk 1.x sends).
    const xApiKey = req.headers['x-api-key'];
    const bearer = req.headers.authorization?.startsWith('Bearer ') ? req.headers.authorization.slice('Bearer '.length).trim() : '';
    const key = typeof xApiKey === 'string' && xApiKey ? xApiKey : bearer;
    if (!key) return send(401, errorBody('authentication_error', 'x-api-key header is required', requestId));
    if (apiKey !== undefined && key !== apiKey) return send(401, errorBody('authentication_error', 'invalid x-api-key', requestId));
    if (typeof req.headers['anthropic-version'] !== 'string') {
      return send(400, errorBody('invalid_request_error', 'anthropic-version: header is required', requestId));
    }
    if (req.method !== 'POST' || req.path !== '/v1/messages') {
      return send(404, errorBody('not_found_error', `Not found: ${req.method} ${req.path}`, requestId));
    }
    const body = req.body as Record<string, unknown> | undefined;
    if (typeof body !== 'object' || body === null) return send(400, errorBody('invalid_request_error', 'Request body is not valid JSON', requestId));
    const problem = validate(body);
    if (problem) return send(400, errorBody('invalid_request_error', problem, requestId));
    if (body.stream === true) return send(400, errorBody('invalid_request_error', 'this fake does not stream', requestId));

    const request = body as MessagesRequest;
    bodies.push(request);
    const reply = await responder(request, { call: bodies.length, recorded: req });
    if (reply.delayMs && !(await sleep(reply.delayMs))) return;
    if ('status' in reply) {
      const extra: Record<string, string> = reply.retryAfterSec !== undefined ? { 'retry-after': String(reply.retryAfterSec) } : {};
      return send(reply.status, errorBody(reply.error.type, reply.error.message, requestId), extra);
    }
    return send(200, buildMessage(request, reply, nextId));
  });

  return {
    ...server,
    respond: (fn = echoMessage) => {
      responder = fn;
    },
    messageRequests: () => [...bodies],
  };
}

function buildMessage(request: MessagesRequest, reply: Exclude<MessagesReply, { status: number }>, nextId: (p: string) => string) {
  const content: object[] = [];
  if (reply.text) content.push({ type: 'text', text: reply.text, citations: null });
  const toolUses = 'toolUses' in reply ? reply.toolUses : [];
  for (const t of toolUses) content.push({ type: 'tool_use', id: t.id ?? nextId('toolu_fake'), name: t.name, input: t.input, caller: { type: 'direct' } });
  const system = typeof request.system === 'string' ? request.system : (request.system ?? []).map((b) => b.text).join('\n');
  const promptText = system + request.messages.map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content))).join('\n') + (request.tools ? JSON.stringify(request.tools) : '');
  const u = reply.usage ?? {};
  const cacheRead = u.cache_read_input_tokens ?? 0;
  const cacheWrite = u.cache_creation_input_tokens ?? 0;
  // input_tokens counts only the uncached part of the prompt, as the real API does.
  const inputTokens = u.input_tokens ?? Math.max(1, estimateTokens(promptText) - cacheRead - cacheWrite);
  const stopReason = toolUses.length ? 'tool_use' : 'stopReason' in reply && reply.stopReason ? reply.stopReason : 'end_turn';
  return {
    id: nextId('msg_fake'),
    type: 'message',
    role: 'assistant',
    model: reply.model ?? request.model,
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    stop_details: null,
    container: null,
    diagnostics: null,
    usage: {
      input_tokens: inputTokens,
      cache_creation_input_tokens: cacheWrite,
      cache_read_input_tokens: cacheRead,
      cache_creation: { ephemeral_5m_input_tokens: cacheWrite, ephemeral_1h_input_tokens: 0 },
      output_tokens: u.output_tokens ?? estimateTokens(JSON.stringify(content)),
      server_tool_use: null,
      service_tier: 'standard',
      inference_geo: 'not_available',
    },
  };
}
