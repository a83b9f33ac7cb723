import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeEmbedding, startFakeAnthropic, startFakeOllama, type FakeAnthropic, type FakeOllama } from './index.ts';

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('fake Anthropic', () => {
  let fake: FakeAnthropic;
  const v = { 'anthropic-version': '2023-06-01' };
  beforeEach(async () => {
    fake = await startFakeAnthropic({ apiKey: 'sk-ant-good' });
  });
  afterEach(() => fake.close());

  it('takes the key as x-api-key (classic clients) and answers in the Messages wire format', async () => {
    const res = await post(`${fake.url}/v1/messages`, { model: 'claude-3-5-haiku-latest', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': 'sk-ant-good', ...v });
    expect(res.status).toBe(200);
    expect(res.headers.get('request-id')).toMatch(/^req_fake/);
    const body = await res.json();
    expect(body).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-3-5-haiku-latest',
      content: [{ type: 'text', text: 'Echo: hi' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: expect.any(Number), output_tokens: expect.any(Number), cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
    });
  });

  it('answers errors as {type:"error", error:{type,message}}: missing key, wrong key, missing version', async () => {
    const msg = { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] };
    const none = await post(`${fake.url}/v1/messages`, msg, v);
    expect([none.status, await none.json()]).toEqual([401, { type: 'error', error: { type: 'authentication_error', message: 'x-api-key header is required' }, request_id: expect.any(String) }]);
    const wrong = await post(`${fake.url}/v1/messages`, msg, { 'x-api-key': 'sk-ant-bad', ...v });
    expect(wrong.status).toBe(401);
    const noVersion = await post(`${fake.url}/v1/messages`, msg, { 'x-api-key': 'sk-ant-good' });
    expect([noVersion.status, (await noVersion.json()).error.type]).toEqual([400, 'invalid_request_error']);
  });

  it('rejects what the real API rejects: system role in messages, missing max_tokens, unanswered tool_use, stray tool_result', async () => {
    const h = { 'x-api-key': 'sk-ant-good', ...v };
    const bad = async (body: object) => {
      const res = await post(`${fake.url}/v1/messages`, body, h);
      expect(res.status).toBe(400);
      return (await res.json()).error.message as string;
    };
    expect(await bad({ model: 'm', max_tokens: 5, messages: [{ role: 'system', content: 'x' }] })).toContain('top-level `system`');
    expect(await bad({ model: 'm', messages: [{ role: 'user', content: 'x' }] })).toBe('max_tokens: Field required');
    const toolUse = { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 't', input: {} }] };
    expect(await bad({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }, toolUse, { role: 'user', content: 'next' }] })).toContain(
      'without `tool_result` blocks immediately after: toolu_1',
    );
    expect(
      await bad({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_9', content: 'x' }] }] }),
    ).toContain('unexpected `tool_use_id`');
    expect(fake.messageRequests()).toHaveLength(0);
  });

  it('scripts 429/529 with retry-after as the SDK sees them', async () => {
    fake.respond((_req, { call }) =>
      call === 1 ? { status: 429, error: { type: 'rate_limit_error', message: 'slow down' }, retryAfterSec: 4 } : { status: 529, error: { type: 'overloaded_error', message: 'Overloaded' } },
    );
    const client = new Anthropic({ apiKey: 'sk-ant-good', baseURL: fake.url, maxRetries: 0 });
    const call = () => client.messages.create({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    const first = (await call()) as InstanceType<typeof Anthropic.RateLimitError>;
    expect(first).toBeInstanceOf(Anthropic.RateLimitError);
    expect(first.headers.get('retry-after')).toBe('4');
    const second = (await call()) as InstanceType<typeof Anthropic.APIError>;
    expect([second.status, second.type]).toEqual([529, 'overloaded_error']);
  });
});

describe('fake Ollama', () => {
  let fake: FakeOllama;
  let client: Ollama;
  beforeEach(async () => {
    fake = await startFakeOllama({ models: ['llama3.1:latest', 'nomic-embed-text:latest'] });
    client = new Ollama({ host: fake.url });
  });
  afterEach(() => fake.close());

  it('streams NDJSON chunks ending in a done chunk with the eval counts', async () => {
    fake.respond(() => ({ content: 'streamed reply text', promptEvalCount: 12, evalCount: 4 }));
    const stream = await client.chat({ model: 'llama3.1', messages: [{ role: 'user', content: 'x' }], stream: true });
    const parts = [];
    for await (const part of stream) parts.push(part);
    expect(parts.length).toBeGreaterThan(2);
    expect(parts.map((p) => p.message.content).join('')).toBe('streamed reply text');
    expect(parts.at(-1)).toMatchObject({ done: true, done_reason: 'stop', prompt_eval_count: 12, eval_count: 4 });
  });

  it('embeds through /api/embed and lists models through /api/tags', async () => {
    const res = await client.embed({ model: 'nomic-embed-text', input: ['alpha', 'beta'] });
    expect(res.embeddings).toEqual([fakeEmbedding('alpha', 768), fakeEmbedding('beta', 768)]);
    expect(res.prompt_eval_count).toBe(3);
    const tags = await client.list();
    expect(tags.models.map((m) => m.name)).toEqual(['llama3.1:latest', 'nomic-embed-text:latest']);
  });

  it('answers an unknown model with Ollama\'s 404 error body', async () => {
    const res = await post(`${fake.url}/api/chat`, { model: 'mistral', messages: [] });
    expect([res.status, await res.json()]).toEqual([404, { error: 'model "mistral" not found, try pulling it first' }]);
  });
});
