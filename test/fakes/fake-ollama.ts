import { sendJson, startRecordingServer, type FakeServer, type RecordedRequest } from './recording-server.ts';
import { estimateTokens, fakeEmbedding } from './fake-openai.ts';

export type { RecordedRequest } from './recording-server.ts';

export interface OllamaMessage {
  role: string;
  content: string;
  tool_calls?: { function: { name: string; arguments: Record<string, unknown> } }[];
  tool_name?: string;
  images?: string[];
}

export interface OllamaChatRequest {
  model: string;
  messages: OllamaMessage[];
  tools?: { type: string; function: { name: string; description?: string; parameters?: unknown } }[];
  stream?: boolean;
  options?: Record<string, unknown>;
  [key: string]: unknown;
}

export type OllamaReply = { delayMs?: number } & (
  | { content: string; doneReason?: 'stop' | 'length'; promptEvalCount?: number | null; evalCount?: number; model?: string }
  | { toolCalls: { name: string; arguments: Record<string, unknown> }[]; content?: string; promptEvalCount?: number | null; evalCount?: number }
  /** Ollama's errors are `{"error": "…"}`; retryAfterSec adds a retry-after header (Ollama's cloud sends 429s). */
  | { status: number; error: string; retryAfterSec?: number }
);

export type OllamaResponder = (
  request: OllamaChatRequest,
  meta: { call: number; recorded: RecordedRequest },
) => OllamaReply | Promise<OllamaReply>;

export interface FakeOllamaOptions {
  port?: number;
  /** Models the server "has pulled"; others get Ollama's 404. Default: any model. */
  models?: string[];
  /** When set, requests need `Authorization: Bearer <apiKey>` (as ollama.com does). */
  apiKey?: string;
}

export interface FakeOllama extends FakeServer {
  respond(fn?: OllamaResponder): void;
  /** Parsed bodies of every accepted POST /api/chat, in arrival order. */
  chatRequests(): OllamaChatRequest[];
}

export const echoOllama = (request: OllamaChatRequest): OllamaReply => {
  const lastUser = [...request.messages].reverse().find((m) => m.role === 'user');
  return { content: `Echo: ${lastUser?.content ?? ''}` };
};

/** A fake Ollama server: POST /api/chat (non-streaming and NDJSON streaming), POST /api/embed, GET /api/tags. */
export async function start({ port = 0, models, apiKey }: FakeOllamaOptions = {}): Promise<FakeOllama> {
  let responder: OllamaResponder = echoOllama;
  const bodies: OllamaChatRequest[] = [];
  const known = (model: string) => !models || models.includes(model) || models.includes(`${model}:latest`);

  const server = await startRecordingServer(port, async (req, res, { sleep }) => {
    const send = (status: number, body: unknown, extra: Record<string, string> = {}) => sendJson(res, status, body, extra);
    if (apiKey !== undefined && req.headers.authorization !== `Bearer ${apiKey}`) return send(401, { error: 'unauthorized' });

    const route = `${req.method} ${req.path}`;
    if (route === 'GET /api/tags') {
      return send(200, {
        models: (models ?? ['llama3.1:latest']).map((name) => ({
          name,
          model: name,
          modified_at: new Date(0).toISOString(),
          size: 4_920_753_328,
          digest: 'f'.repeat(64),
          details: { parent_model: '', format: 'gguf', family: 'llama', families: ['llama'], parameter_size: '8.0B', quantization_level: 'Q4_K_M' },
        })),
      });
    }
    if (route !== 'POST /api/chat' && route !== 'POST /api/embed') return send(404, { error: '404 page not found' });
    const body = req.body as Record<string, unknown> | undefined;
    if (typeof body !== 'object' || body === null) return send(400, { error: 'invalid character looking for beginning of value' });
    if (typeof body.model !== 'string' || !body.model) return send(400, { error: 'model is required' });
    if (!known(body.model)) return send(404, { error: `model "${body.model}" not found, try pulling it first` });

    if (req.path === '/api/embed') {
      const inputs = typeof body.input === 'string' ? [body.input] : Array.isArray(body.input) ? body.input.map(String) : [];
      return send(200, {
        model: body.model,
        embeddings: inputs.map((t) => fakeEmbedding(t, 768)),
        total_duration: 14_143_917,
        load_duration: 1_019_500,
        prompt_eval_count: inputs.reduce((n, t) => n + estimateTokens(t), 0),
      });
    }

    if (body.messages !== undefined && !Array.isArray(body.messages)) return send(400, { error: 'messages must be an array' });
    const chat = { ...body, messages: (body.messages ?? []) as OllamaMessage[] } as OllamaChatRequest;
    bodies.push(chat);
    const reply = await responder(chat, { call: bodies.length, recorded: req });
    if (reply.delayMs && !(await sleep(reply.delayMs))) return;
    if ('status' in reply) {
      return send(reply.status, { error: reply.error }, reply.retryAfterSec !== undefined ? { 'retry-after': String(reply.retryAfterSec) } : {});
    }
    const final = buildFinal(chat, reply);
    // Ollama streams unless told not to.
    if (chat.stream === false) return send(200, final);
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    const { message, ...rest } = final;
    for (const piece of (message.content.match(/.{1,5}/gs) ?? [])) {
      res.write(`${JSON.stringify({ model: final.model, created_at: final.created_at, message: { role: 'assistant', content: piece }, done: false })}\n`);
    }
    res.end(`${JSON.stringify({ ...rest, message: { ...message, content: '' } })}\n`);
  });

  return {
    ...server,
    respond: (fn = echoOllama) => {
      responder = fn;
    },
    chatRequests: () => [...bodies],
  };
}

function buildFinal(chat: OllamaChatRequest, reply: Exclude<OllamaReply, { status: number }>) {
  const toolCalls = 'toolCalls' in reply ? reply.toolCalls : undefined;
  const content = reply.content ?? '';
  const promptText = chat.messages.map((m) => m.content).join('\n') + (chat.tools ? JSON.stringify(chat.tools) : '');
  const evalCount = reply.evalCount ?? estimateTokens(content + (toolCalls ? JSON.stringify(toolCalls) : ''));
  const promptEvalCount = reply.promptEvalCount === undefined ? estimateTokens(promptText) : reply.promptEvalCount;
  return {
    model: ('model' in reply && reply.model) || chat.model,
    created_at: new Date().toISOString(),
    message: {
      role: 'assistant' as const,
      content,
      ...(toolCalls && { tool_calls: toolCalls.map((c) => ({ function: { name: c.name, arguments: c.arguments } })) }),
    },
    done_reason: 'doneReason' in reply && reply.doneReason ? reply.doneReason : 'stop',
    done: true,
    total_duration: 5_191_566_416,
    load_duration: 2_154_458,
    // Ollama omits prompt_eval_count when the whole prompt was served from its cache.
    ...(promptEvalCount !== null && { prompt_eval_count: promptEvalCount, prompt_eval_duration: 383_809_000 }),
    eval_count: evalCount,
    eval_duration: 4_799_921_000,
  };
}
