import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { sendJson, startRecordingServer, type FakeServer, type RecordedRequest } from './recording-server.ts';

export type { RecordedRequest } from './recording-server.ts';

type ContentPart = { type: string; text?: string };

export interface ChatMessage {
  role: string;
  content?: string | ContentPart[] | null;
  tool_calls?: Array<{ id: string; type: string; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
  name?: string;
}

/** The subset of the Chat Completions request body the fake looks at; everything else is passed through. */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  tools?: unknown[];
  [key: string]: unknown;
}

export interface ToolCallReply {
  name: string;
  arguments: Record<string, unknown>;
  id?: string;
}

export interface UsageOverride {
  prompt_tokens?: number;
  completion_tokens?: number;
  cached_tokens?: number;
  reasoning_tokens?: number;
}

export interface OpenAIErrorBody {
  message: string;
  type: string;
  code?: string | null;
  param?: string | null;
}

export type ChatReply = { delayMs?: number } & (
  | { content: string; finishReason?: 'stop' | 'length' | 'content_filter'; usage?: UsageOverride }
  | { toolCalls: ToolCallReply[]; content?: string | null; usage?: UsageOverride }
  /** retryAfterSec only applies to 429s; the SDK reads it to schedule its retry. */
  | { status: number; error: OpenAIErrorBody; retryAfterSec?: number }
);

export type ChatResponder = (
  request: ChatRequest,
  meta: { call: number; recorded: RecordedRequest },
) => ChatReply | Promise<ChatReply>;

export interface FakeOpenAIOptions {
  port?: number;
  /** When set, any other bearer token gets OpenAI's invalid_api_key 401. */
  apiKey?: string;
  models?: string[];
}

export interface FakeOpenAI extends FakeServer {
  /** Replaces the chat responder; call with no argument to restore the echo default. */
  respond(fn?: ChatResponder): void;
  /** Parsed bodies of every /v1/chat/completions call, in arrival order. */
  chatRequests(): ChatRequest[];
}

export function textOf(content: ChatMessage['content']): string {
  if (typeof content === 'string') return content;
  return (content ?? []).map((part) => part.text ?? '').join('');
}

export const echoReply = (request: ChatRequest): ChatReply => {
  const lastUser = [...request.messages].reverse().find((m) => m.role === 'user');
  return { content: `Echo: ${textOf(lastUser?.content)}` };
};

/** Unit-length and float32-exact, so float and base64 encodings decode to identical numbers. */
export function fakeEmbedding(text: string, dimensions = 1536): number[] {
  let seed = createHash('sha256').update(text).digest().readUInt32LE(0);
  const raw: number[] = [];
  for (let i = 0; i < dimensions; i++) {
    // mulberry32: tiny, seedable, good enough to make distinct inputs look unrelated
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    raw.push((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * 2 - 1);
  }
  const norm = Math.sqrt(raw.reduce((sum, v) => sum + v * v, 0)) || 1;
  return raw.map((v) => Math.fround(v / norm));
}

/** Crude chars/4 heuristic: deterministic and close enough to real tokenizers for budget tests. */
export const estimateTokens = (text: string): number => Math.max(1, Math.ceil(text.length / 4));

const DEFAULT_MODELS = ['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small', 'text-embedding-3-large'];

function apiError(message: string, type: string, param: string | null = null, code: string | null = null) {
  return { error: { message, type, param, code } };
}

const missingParam = (name: string) =>
  apiError(`Missing required parameter: '${name}'.`, 'invalid_request_error', name, 'missing_required_parameter');

export async function start({ port = 0, apiKey, models = DEFAULT_MODELS }: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  let responder: ChatResponder = echoReply;
  let seq = 0;
  const chatBodies: ChatRequest[] = [];
  const nextId = (prefix: string) => `${prefix}${String(++seq).padStart(12, '0')}`;

  const server = await startRecordingServer(port, async (req, res, { sleep }) => {
    const requestId = nextId('req_fake');
    const headers = { 'x-request-id': requestId };
    const send = (status: number, body: unknown, extra: Record<string, string> = {}) =>
      sendJson(res, status, body, { ...headers, ...extra });

    const auth = req.headers.authorization ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice('Bearer '.length).trim() : '';
    if (!token) {
      return send(
        401,
        apiError(
          "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
          'invalid_request_error',
        ),
      );
    }
    if (apiKey !== undefined && token !== apiKey) {
      return send(401, apiError(`Incorrect API key provided: ${token}.`, 'invalid_request_error', null, 'invalid_api_key'));
    }

    const route = `${req.method} ${req.path}`;
    if (route === 'GET /v1/models') {
      return send(200, {
        object: 'list',
        data: models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'system' })),
      });
    }
    if (route !== 'POST /v1/chat/completions' && route !== 'POST /v1/embeddings') {
      return send(404, apiError(`Invalid URL (${route})`, 'invalid_request_error'));
    }
    const body = req.body as Record<string, unknown> | undefined;
    if (typeof body !== 'object' || body === null) {
      return send(400, apiError('We could not parse the JSON body of your request.', 'invalid_request_error'));
    }
    if (typeof body.model !== 'string') {
      return send(400, apiError('you must provide a model parameter', 'invalid_request_error'));
    }

    if (req.path === '/v1/embeddings') return send(200, embeddings(body));

    if (!Array.isArray(body.messages)) return send(400, missingParam('messages'));
    const chat = body as ChatRequest;
    chatBodies.push(chat);
    const reply = await responder(chat, { call: chatBodies.length, recorded: req });
    if (reply.delayMs && !(await sleep(reply.delayMs))) return;

    if ('status' in reply) {
      const { message, type, param = null, code = null } = reply.error;
      const extra: Record<string, string> = reply.status === 429 ? { 'retry-after': String(reply.retryAfterSec ?? 1) } : {};
      return send(reply.status, apiError(message, type, param, code), extra);
    }
    const completion = buildCompletion(chat, reply, nextId);
    if (chat.stream) return streamCompletion(res, chat, completion, headers);
    return send(200, completion);
  });

  return {
    ...server,
    respond: (fn = echoReply) => {
      responder = fn;
    },
    chatRequests: () => [...chatBodies],
  };
}

function embeddings(body: Record<string, unknown>) {
  const dimensions = typeof body.dimensions === 'number' ? body.dimensions : 1536;
  const input = body.input;
  // Token-array inputs are embedded by their JSON text: still deterministic, and nobody reads them back as text.
  const texts: string[] =
    typeof input === 'string' ? [input]
    : Array.isArray(input) && input.every((x) => typeof x === 'number') ? [JSON.stringify(input)]
    : Array.isArray(input) ? input.map((x) => (typeof x === 'string' ? x : JSON.stringify(x)))
    : [];
  const tokens = texts.reduce((sum, t) => sum + estimateTokens(t), 0);
  return {
    object: 'list',
    data: texts.map((text, index) => {
      const vector = fakeEmbedding(text, dimensions);
      return { object: 'embedding', index, embedding: body.encoding_format === 'base64' ? toBase64(vector) : vector };
    }),
    model: body.model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

/** OpenAI's base64 embeddings are little-endian float32; the SDK requests them by default and decodes them. */
function toBase64(vector: number[]): string {
  const buf = Buffer.alloc(vector.length * 4);
  vector.forEach((v, i) => buf.writeFloatLE(v, i * 4));
  return buf.toString('base64');
}

function buildCompletion(chat: ChatRequest, reply: Exclude<ChatReply, { status: number }>, nextId: (p: string) => string) {
  const toolCalls = 'toolCalls' in reply ? reply.toolCalls : undefined;
  const content = reply.content ?? null;
  const promptText = chat.messages.map((m) => textOf(m.content)).join('\n') + (chat.tools ? JSON.stringify(chat.tools) : '');
  const tool_calls = toolCalls?.map((call) => ({
    id: call.id ?? nextId('call_fake'),
    type: 'function' as const,
    function: { name: call.name, arguments: JSON.stringify(call.arguments) },
  }));
  const completionText = (content ?? '') + (tool_calls ? JSON.stringify(tool_calls) : '');
  const u = reply.usage ?? {};
  const prompt_tokens = u.prompt_tokens ?? estimateTokens(promptText);
  const completion_tokens = u.completion_tokens ?? estimateTokens(completionText);
  return {
    id: nextId('chatcmpl-fake'),
    object: 'chat.completion' as const,
    created: Math.floor(Date.now() / 1000),
    model: chat.model,
    choices: [
      {
        index: 0,
        // JSON.stringify drops tool_calls when undefined, matching OpenAI omitting the key.
        message: { role: 'assistant' as const, content, refusal: null, annotations: [], tool_calls },
        logprobs: null,
        finish_reason: tool_calls ? 'tool_calls' : 'finishReason' in reply && reply.finishReason ? reply.finishReason : 'stop',
      },
    ],
    usage: {
      prompt_tokens,
      completion_tokens,
      total_tokens: prompt_tokens + completion_tokens,
      prompt_tokens_details: { cached_tokens: u.cached_tokens ?? 0, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: u.reasoning_tokens ?? 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    },
    service_tier: 'default',
    system_fingerprint: 'fp_fake0000000',
  };
}

type Completion = ReturnType<typeof buildCompletion>;

/** Several small pieces per field so clients really have to accumulate deltas. */
function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function streamCompletion(res: ServerResponse, chat: ChatRequest, completion: Completion, headers: Record<string, string>): void {
  const includeUsage = chat.stream_options?.include_usage === true;
  const { usage, choices, object: _object, ...base } = completion;
  const { message, finish_reason } = choices[0]!;
  // With include_usage OpenAI puts "usage": null on every chunk and the totals on one extra, choice-less chunk.
  const chunk = (delta: object, finishReason: string | null = null) => ({
    ...base,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(includeUsage ? { usage: null } : {}),
  });

  const chunks: object[] = [];
  if (message.tool_calls) {
    message.tool_calls.forEach((call, index) => {
      const opening = { index, id: call.id, type: call.type, function: { name: call.function.name, arguments: '' } };
      chunks.push(chunk(index === 0 ? { role: 'assistant', content: null, tool_calls: [opening], refusal: null } : { tool_calls: [opening] }));
      for (const part of pieces(call.function.arguments, 8)) {
        chunks.push(chunk({ tool_calls: [{ index, function: { arguments: part } }] }));
      }
    });
  } else {
    chunks.push(chunk({ role: 'assistant', content: '', refusal: null }));
    for (const part of pieces(message.content ?? '', 5)) chunks.push(chunk({ content: part }));
  }
  chunks.push(chunk({}, finish_reason));
  if (includeUsage) chunks.push({ ...base, object: 'chat.completion.chunk', choices: [], usage });

  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers });
  for (const c of chunks) res.write(`data: ${JSON.stringify(c)}\n\n`);
  res.end('data: [DONE]\n\n');
}
