import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  startFakeAnthropic,
  startFakeOllama,
  startFakeOpenAI,
  type FakeAnthropic,
  type FakeOllama,
  type FakeOpenAI,
} from '../../test/fakes/index.ts';
import { LlmCallError } from '../src/llm/errors.ts';
import { createAnthropicAdapter } from '../src/llm/providers/anthropic.ts';
import { createOllamaAdapter } from '../src/llm/providers/ollama.ts';
import { createOpenAiAdapter } from '../src/llm/providers/openai.ts';
import type { ProviderRequest } from '../src/llm/providers/adapter.ts';
import type { ChatMessage, ToolSpec } from '../src/llm/types.ts';

const weatherTool: ToolSpec = {
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

async function caught(p: Promise<unknown>): Promise<LlmCallError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(LlmCallError);
    return e as LlmCallError;
  }
  throw new Error('expected the call to fail');
}

/** A port nobody listens on: connection refused. */
async function closedPort(): Promise<string> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

const base = (over: Partial<ProviderRequest> & Pick<ProviderRequest, 'credentials'>): ProviderRequest => ({
  model: 'm',
  messages: [{ role: 'user', content: 'hi' }],
  maxTokens: 256,
  timeoutMs: 5_000,
  ...over,
});

describe('OpenAI adapter (openai SDK → fake OpenAI)', () => {
  let fake: FakeOpenAI;
  const adapter = createOpenAiAdapter();
  let creds: ProviderRequest['credentials'];
  beforeEach(async () => {
    fake = await startFakeOpenAI({ apiKey: 'sk-platform-123456' });
    creds = { apiKey: 'sk-platform-123456', baseUrl: `${fake.url}/v1` };
  });
  afterEach(() => fake.close());

  it('maps messages and options, and normalizes text, usage with cached tokens, and cost', async () => {
    fake.respond(() => ({ content: 'Hello there', usage: { prompt_tokens: 1000, completion_tokens: 200, cached_tokens: 600 } }));
    const res = await adapter.chat(
      base({
        model: 'gpt-4o-mini',
        credentials: creds,
        temperature: 0.2,
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'hello' },
        ],
      }),
    );
    expect(res).toMatchObject({
      provider: 'openai',
      model: 'gpt-4o-mini',
      text: 'Hello there',
      toolCalls: [],
      finishReason: 'stop',
      usage: { inputTokens: 1000, outputTokens: 200, cacheReadTokens: 600, cacheWriteTokens: 0 },
    });
    // 400 uncached × 0.15 + 600 cached × 0.075 + 200 × 0.6 = 60 + 45 + 120 micro-dollars.
    expect(res.costUsdMicros).toBe(225n);
    const body = fake.chatRequests()[0]!;
    expect(body).toMatchObject({
      model: 'gpt-4o-mini',
      max_completion_tokens: 256,
      temperature: 0.2,
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hello' },
      ],
    });
    expect(fake.requests[0]!.headers.authorization).toBe('Bearer sk-platform-123456');
  });

  it('round-trips a tool call: tools out, tool_calls back, the tool result answered by id', async () => {
    fake.respond((req, { call }) => {
      if (call === 1) return { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] };
      const toolMsg = req.messages.find((m) => m.role === 'tool');
      return { content: `It is ${String(toolMsg?.content)} in Paris` };
    });
    const messages: ChatMessage[] = [{ role: 'user', content: 'weather in Paris?' }];
    const first = await adapter.chat(base({ model: 'gpt-4o', credentials: creds, messages, tools: [weatherTool] }));
    expect(first.finishReason).toBe('tool_calls');
    expect(first.toolCalls).toEqual([{ id: expect.stringMatching(/^call_/), name: 'get_weather', arguments: { city: 'Paris' } }]);
    expect(fake.chatRequests()[0]!.tools).toEqual([
      { type: 'function', function: { name: 'get_weather', description: weatherTool.description, parameters: weatherTool.parameters } },
    ]);

    const call = first.toolCalls[0]!;
    messages.push({ role: 'assistant', content: first.text, toolCalls: first.toolCalls });
    messages.push({ role: 'tool', toolCallId: call.id, name: call.name, content: '21C' });
    const second = await adapter.chat(base({ model: 'gpt-4o', credentials: creds, messages, tools: [weatherTool] }));
    expect(second.text).toBe('It is 21C in Paris');
    const sent = fake.chatRequests()[1]!.messages;
    expect(sent[1]).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [{ id: call.id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
    });
    expect(sent[2]).toEqual({ role: 'tool', tool_call_id: call.id, content: '21C' });
  });

  it('classifies errors, keeps Retry-After, makes exactly one request (SDK retries off) and never echoes the key', async () => {
    fake.respond(() => ({ status: 500, error: { message: 'The server had an error', type: 'server_error' } }));
    const e500 = await caught(adapter.chat(base({ credentials: creds })));
    expect([e500.errorClass, e500.status, e500.retryable]).toEqual(['server_error', 500, true]);
    expect(fake.requests).toHaveLength(1);

    fake.respond(() => ({ status: 429, error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' }, retryAfterSec: 7 }));
    const e429 = await caught(adapter.chat(base({ credentials: creds })));
    expect([e429.errorClass, e429.retryAfterMs]).toEqual(['rate_limited', 7000]);

    fake.respond(() => ({ status: 400, error: { message: 'bad param', type: 'invalid_request_error' } }));
    const e400 = await caught(adapter.chat(base({ credentials: creds })));
    expect([e400.errorClass, e400.retryable]).toEqual(['bad_request', false]);

    // The fake, like some servers, quotes the wrong key back in its message.
    const wrongKey = 'sk-tenant-WRONG-abcdef';
    const e401 = await caught(adapter.chat(base({ credentials: { ...creds, apiKey: wrongKey } })));
    expect(e401.errorClass).toBe('auth');
    expect(e401.message).toContain('Incorrect API key');
    expect(e401.message).not.toContain(wrongKey);
    expect(JSON.stringify({ ...e401, message: e401.message })).not.toContain(wrongKey);
  });

  it('times out per call, tells a caller abort apart, and reports refused connections', async () => {
    fake.respond(() => ({ content: 'late', delayMs: 2_000 }));
    const t0 = performance.now();
    const slow = await caught(adapter.chat(base({ credentials: creds, timeoutMs: 150 })));
    expect(slow.errorClass).toBe('timeout');
    expect(performance.now() - t0).toBeLessThan(1_500);

    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const aborted = await caught(adapter.chat(base({ credentials: creds, signal: ac.signal })));
    expect(aborted.errorClass).toBe('aborted');

    const refused = await caught(adapter.chat(base({ credentials: { ...creds, baseUrl: `${await closedPort()}/v1` } })));
    expect(refused.errorClass).toBe('connection');
  });

  it('refuses to call without a key', async () => {
    const e = await caught(adapter.chat(base({ credentials: { baseUrl: creds.baseUrl } })));
    expect(e.errorClass).toBe('no_credentials');
    expect(fake.requests).toHaveLength(0);
  });
});

describe('Anthropic adapter (@anthropic-ai/sdk → fake Anthropic)', () => {
  let fake: FakeAnthropic;
  const adapter = createAnthropicAdapter();
  let creds: ProviderRequest['credentials'];
  beforeEach(async () => {
    fake = await startFakeAnthropic({ apiKey: 'sk-ant-platform-1234' });
    creds = { apiKey: 'sk-ant-platform-1234', baseUrl: fake.url };
  });
  afterEach(() => fake.close());

  it('sends the system prompt top-level with a cache breakpoint and normalizes cache usage and cost', async () => {
    fake.respond(() => ({
      text: 'Bonjour',
      usage: { input_tokens: 100, cache_read_input_tokens: 2000, cache_creation_input_tokens: 500, output_tokens: 50 },
    }));
    const res = await adapter.chat(
      base({
        model: 'claude-3-5-haiku-latest',
        credentials: creds,
        temperature: 0,
        messages: [
          { role: 'system', content: 'You are Ava.' },
          { role: 'user', content: 'hello' },
          { role: 'assistant', content: 'Hi! How can I help?' },
          { role: 'user', content: 'say bonjour' },
        ],
      }),
    );
    expect(res).toMatchObject({
      provider: 'anthropic',
      model: 'claude-3-5-haiku-latest',
      text: 'Bonjour',
      finishReason: 'stop',
      // input_tokens excludes the cached parts; ours is the whole prompt.
      usage: { inputTokens: 2600, outputTokens: 50, cacheReadTokens: 2000, cacheWriteTokens: 500 },
    });
    // claude-3-5-haiku: 100 × 0.8 + 2000 × 0.08 + 500 × 1.0 + 50 × 4 = 80 + 160 + 500 + 200.
    expect(res.costUsdMicros).toBe(940n);

    const rec = fake.requests[0]!;
    // @anthropic-ai/sdk 1.x sends the API key as a bearer token with API version 2026-10-21.
    expect(rec.headers.authorization).toBe('Bearer sk-ant-platform-1234');
    expect(rec.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(fake.messageRequests()[0]).toMatchObject({
      model: 'claude-3-5-haiku-latest',
      max_tokens: 256,
      temperature: 0,
      system: [{ type: 'text', text: 'You are Ava.', cache_control: { type: 'ephemeral' } }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'hello' }] },
        { role: 'assistant', content: [{ type: 'text', text: 'Hi! How can I help?' }] },
        { role: 'user', content: [{ type: 'text', text: 'say bonjour' }] },
      ],
    });
  });

  it('round-trips parallel tool calls as tool_use blocks and one user turn of tool_result blocks', async () => {
    fake.respond((req, { call }) => {
      if (call === 1) {
        return {
          text: 'Let me check both.',
          toolUses: [
            { name: 'get_weather', input: { city: 'Paris' } },
            { name: 'get_weather', input: { city: 'Oslo' } },
          ],
        };
      }
      const results = (req.messages.at(-1)!.content as { type: string; content?: unknown; is_error?: boolean }[]).filter((b) => b.type === 'tool_result');
      return { text: `results: ${results.map((r) => `${String(r.content)}${r.is_error ? '!' : ''}`).join(', ')}` };
    });
    const messages: ChatMessage[] = [
      { role: 'system', content: 'You are Ava.' },
      { role: 'user', content: 'weather in Paris and Oslo?' },
    ];
    const first = await adapter.chat(base({ model: 'claude-sonnet-4-5', credentials: creds, messages, tools: [weatherTool] }));
    expect(first.finishReason).toBe('tool_calls');
    expect(first.text).toBe('Let me check both.');
    expect(first.toolCalls).toEqual([
      { id: expect.stringMatching(/^toolu_/), name: 'get_weather', arguments: { city: 'Paris' } },
      { id: expect.stringMatching(/^toolu_/), name: 'get_weather', arguments: { city: 'Oslo' } },
    ]);
    expect(fake.messageRequests()[0]!.tools).toEqual([{ name: 'get_weather', description: weatherTool.description, input_schema: weatherTool.parameters }]);

    const [paris, oslo] = first.toolCalls as [(typeof first.toolCalls)[0], (typeof first.toolCalls)[0]];
    messages.push({ role: 'assistant', content: first.text, toolCalls: first.toolCalls });
    messages.push({ role: 'tool', toolCallId: paris.id, name: paris.name, content: '21C' });
    messages.push({ role: 'tool', toolCallId: oslo.id, name: oslo.name, content: 'service down', isError: true });
    // The fake rejects unpaired tool_use/tool_result exactly like the API, so this passing proves the mapping.
    const second = await adapter.chat(base({ model: 'claude-sonnet-4-5', credentials: creds, messages, tools: [weatherTool] }));
    expect(second.text).toBe('results: 21C, service down!');
    const sent = fake.messageRequests()[1]!.messages;
    expect(sent.at(-2)).toEqual({
      role: 'assistant',
      content: [
        { type: 'text', text: 'Let me check both.' },
        { type: 'tool_use', id: paris.id, name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: oslo.id, name: 'get_weather', input: { city: 'Oslo' } },
      ],
    });
    expect(sent.at(-1)).toEqual({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: paris.id, content: '21C' },
        { type: 'tool_result', tool_use_id: oslo.id, content: 'service down', is_error: true },
      ],
    });
  });

  it('maps stop reasons', async () => {
    fake.respond(() => ({ text: 'cut', stopReason: 'max_tokens' }));
    expect((await adapter.chat(base({ credentials: creds }))).finishReason).toBe('length');
    fake.respond(() => ({ text: 'no', stopReason: 'refusal' }));
    expect((await adapter.chat(base({ credentials: creds }))).finishReason).toBe('content_filter');
  });

  it('classifies Anthropic error bodies: 429 with retry-after, 529 overloaded, 500 api_error, 401, 400', async () => {
    fake.respond(() => ({ status: 429, error: { type: 'rate_limit_error', message: 'Number of requests has exceeded your rate limit' }, retryAfterSec: 3 }));
    const e429 = await caught(adapter.chat(base({ credentials: creds })));
    expect([e429.errorClass, e429.status, e429.retryAfterMs]).toEqual(['rate_limited', 429, 3000]);
    expect(e429.message).toContain('rate_limit_error');
    expect(fake.requests).toHaveLength(1);

    fake.respond(() => ({ status: 529, error: { type: 'overloaded_error', message: 'Overloaded' } }));
    const e529 = await caught(adapter.chat(base({ credentials: creds })));
    expect([e529.errorClass, e529.retryable]).toEqual(['overloaded', true]);

    fake.respond(() => ({ status: 500, error: { type: 'api_error', message: 'Internal server error' } }));
    expect((await caught(adapter.chat(base({ credentials: creds })))).errorClass).toBe('server_error');

    const e401 = await caught(adapter.chat(base({ credentials: { ...creds, apiKey: 'sk-ant-wrong-key-999' } })));
    expect([e401.errorClass, e401.status]).toEqual(['auth', 401]);

    // A system role inside messages would be a mapping bug; the real API answers 400.
    fake.respond(() => ({ status: 400, error: { type: 'invalid_request_error', message: 'prompt is too long' } }));
    const e400 = await caught(adapter.chat(base({ credentials: creds })));
    expect([e400.errorClass, e400.retryable]).toEqual(['bad_request', false]);
  });

  it('times out per call', async () => {
    fake.respond(() => ({ text: 'late', delayMs: 2_000 }));
    expect((await caught(adapter.chat(base({ credentials: creds, timeoutMs: 150 })))).errorClass).toBe('timeout');
  });
});

describe('Ollama adapter (ollama package → fake Ollama)', () => {
  let fake: FakeOllama;
  const adapter = createOllamaAdapter();
  let creds: ProviderRequest['credentials'];
  beforeEach(async () => {
    fake = await startFakeOllama({ models: ['llama3.1:latest', 'qwen2.5:7b'] });
    creds = { baseUrl: fake.url };
  });
  afterEach(() => fake.close());

  it('calls /api/chat non-streaming and maps prompt_eval_count / eval_count to usage at zero cost', async () => {
    fake.respond(() => ({ content: 'Hallo', promptEvalCount: 321, evalCount: 45 }));
    const res = await adapter.chat(
      base({
        model: 'llama3.1',
        credentials: creds,
        temperature: 0.5,
        messages: [
          { role: 'system', content: 'You are Ava.' },
          { role: 'user', content: 'hello' },
        ],
      }),
    );
    expect(res).toMatchObject({
      provider: 'ollama',
      model: 'llama3.1',
      text: 'Hallo',
      finishReason: 'stop',
      usage: { inputTokens: 321, outputTokens: 45, cacheReadTokens: 0, cacheWriteTokens: 0 },
      costUsdMicros: 0n,
    });
    expect(fake.requests[0]!.path).toBe('/api/chat');
    expect(fake.chatRequests()[0]).toMatchObject({
      model: 'llama3.1',
      stream: false,
      options: { num_predict: 256, temperature: 0.5 },
      messages: [
        { role: 'system', content: 'You are Ava.' },
        { role: 'user', content: 'hello' },
      ],
    });
    expect(fake.requests[0]!.headers.authorization).toBeUndefined();
  });

  it('counts a fully cached prompt (no prompt_eval_count) as zero input tokens', async () => {
    fake.respond(() => ({ content: 'ok', promptEvalCount: null, evalCount: 3 }));
    const res = await adapter.chat(base({ model: 'llama3.1', credentials: creds }));
    expect(res.usage).toEqual({ inputTokens: 0, outputTokens: 3, cacheReadTokens: 0, cacheWriteTokens: 0 });
  });

  it('round-trips a tool call: object arguments, synthesized ids, results by tool_name', async () => {
    fake.respond((req, { call }) => {
      if (call === 1) return { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] };
      const tool = req.messages.find((m) => m.role === 'tool');
      return { content: `${tool?.tool_name}: ${tool?.content}` };
    });
    const messages: ChatMessage[] = [{ role: 'user', content: 'weather?' }];
    const first = await adapter.chat(base({ model: 'qwen2.5:7b', credentials: creds, messages, tools: [weatherTool] }));
    expect(first.finishReason).toBe('tool_calls');
    expect(first.toolCalls).toEqual([{ id: expect.stringMatching(/^ollama_call_/), name: 'get_weather', arguments: { city: 'Paris' } }]);
    expect(fake.chatRequests()[0]!.tools).toEqual([
      { type: 'function', function: { name: 'get_weather', description: weatherTool.description, parameters: weatherTool.parameters } },
    ]);
    const call = first.toolCalls[0]!;
    messages.push({ role: 'assistant', content: '', toolCalls: first.toolCalls });
    messages.push({ role: 'tool', toolCallId: call.id, name: call.name, content: '21C' });
    const second = await adapter.chat(base({ model: 'qwen2.5:7b', credentials: creds, messages }));
    expect(second.text).toBe('get_weather: 21C');
    expect(fake.chatRequests()[1]!.messages.slice(1)).toEqual([
      { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }] },
      { role: 'tool', content: '21C', tool_name: 'get_weather' },
    ]);
  });

  it('classifies errors: unknown model 404, 500, 429 with retry-after, timeouts, refused connections', async () => {
    const missing = await caught(adapter.chat(base({ model: 'mistral', credentials: creds })));
    expect([missing.errorClass, missing.status]).toEqual(['not_found', 404]);
    expect(missing.message).toContain('not found, try pulling it first');

    fake.respond(() => ({ status: 500, error: 'llama runner process has terminated' }));
    expect((await caught(adapter.chat(base({ model: 'llama3.1', credentials: creds })))).errorClass).toBe('server_error');

    fake.respond(() => ({ status: 429, error: 'too many requests', retryAfterSec: 2 }));
    const e429 = await caught(adapter.chat(base({ model: 'llama3.1', credentials: creds })));
    expect([e429.errorClass, e429.retryAfterMs]).toEqual(['rate_limited', 2000]);

    fake.respond(() => ({ content: 'late', delayMs: 2_000 }));
    expect((await caught(adapter.chat(base({ model: 'llama3.1', credentials: creds, timeoutMs: 150 })))).errorClass).toBe('timeout');

    expect((await caught(adapter.chat(base({ model: 'llama3.1', credentials: { baseUrl: await closedPort() } })))).errorClass).toBe('connection');
  });

  it('sends a key as a bearer token when one is configured', async () => {
    const secured = await startFakeOllama({ apiKey: 'ollama-key-42' });
    try {
      await adapter.chat(base({ model: 'llama3.1', credentials: { baseUrl: secured.url, apiKey: 'ollama-key-42' } }));
      expect(secured.requests[0]!.headers.authorization).toBe('Bearer ollama-key-42');
      const denied = await caught(adapter.chat(base({ model: 'llama3.1', credentials: { baseUrl: secured.url, apiKey: 'nope-nope' } })));
      expect(denied.errorClass).toBe('auth');
    } finally {
      await secured.close();
    }
  });
});
