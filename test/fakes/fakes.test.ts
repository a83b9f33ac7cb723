import OpenAI from 'openai';
import { ErrorCode, WebClient, type WebAPIPlatformError, type WebAPIRateLimitedError } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { echoReply, fakeEmbedding, startFakeOpenAI, startFakeSlack, type FakeOpenAI, type FakeSlack } from './index.ts';

/** Runs `fn` expecting it to throw, and hands back the error for precise assertions. */
async function caught(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw');
}

describe('fake OpenAI with the official openai SDK', () => {
  let fake: FakeOpenAI;
  let client: OpenAI;
  beforeEach(async () => {
    fake = await startFakeOpenAI();
    client = new OpenAI({ apiKey: 'sk-test', baseURL: `${fake.url}/v1`, maxRetries: 0 });
  });
  afterEach(() => fake.close());

  it('answers a plain chat completion with an echo and records the request', async () => {
    const completion = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hello there' },
      ],
    });
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('gpt-4o-mini');
    expect(completion.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'Echo: hello there', refusal: null });
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    // "be brief\nhello there" is 20 chars -> 5 tokens; "Echo: hello there" is 17 chars -> 5 tokens.
    expect(completion.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 });
    expect(completion.usage?.prompt_tokens_details?.cached_tokens).toBe(0);
    expect(completion._request_id).toMatch(/^req_fake/);

    expect(fake.requests).toHaveLength(1);
    const [req] = fake.requests;
    expect(req?.method).toBe('POST');
    expect(req?.path).toBe('/v1/chat/completions');
    expect(req?.headers.authorization).toBe('Bearer sk-test');
    expect(req?.body).toMatchObject({ model: 'gpt-4o-mini', messages: [{ role: 'system' }, { role: 'user', content: 'hello there' }] });
    expect(JSON.parse(req?.rawBody ?? '')).toEqual(req?.body);
    expect(req?.receivedAt).toBeGreaterThan(0);
    expect(Math.abs((req?.receivedAtEpochMs ?? 0) - Date.now())).toBeLessThan(5000);
  });

  it('returns programmed tool calls and sees the tool result on the next turn', async () => {
    fake.respond((req, { call }) => {
      if (call === 1) return { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris', unit: 'c' } }] };
      const toolMsg = req.messages.find((m) => m.role === 'tool');
      return { content: `It is ${String(toolMsg?.content)} in Paris`, usage: { prompt_tokens: 42, cached_tokens: 40 } };
    });
    const tools = [
      {
        type: 'function' as const,
        function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
      },
    ];
    const first = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'weather?' }],
      tools,
    });
    const msg = first.choices[0]!.message;
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    expect(msg.content).toBeNull();
    expect(msg.tool_calls).toHaveLength(1);
    const call = msg.tool_calls![0]!;
    expect(call.type).toBe('function');
    if (call.type !== 'function') throw new Error('unreachable');
    expect(call.id).toMatch(/^call_/);
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris', unit: 'c' });

    const second = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [
        { role: 'user', content: 'weather?' },
        msg,
        { role: 'tool', tool_call_id: call.id, content: '21C' },
      ],
      tools,
    });
    expect(second.choices[0]?.message.content).toBe('It is 21C in Paris');
    expect(second.usage?.prompt_tokens).toBe(42);
    expect(second.usage?.prompt_tokens_details?.cached_tokens).toBe(40);
    expect(fake.chatRequests()[1]?.messages[1]?.tool_calls?.[0]?.id).toBe(call.id);
  });

  it('streams SSE chunks ending with a usage chunk when include_usage is set', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'stream this please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe('Echo: stream this please');
    expect(chunks.filter((c) => c.choices[0]?.delta.content).length).toBeGreaterThan(2);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(fake.requests[0]?.rawBody).toContain('"include_usage":true');
  });

  it('streams tool-call deltas that the SDK stream helper reassembles', async () => {
    fake.respond(() => ({ toolCalls: [{ name: 'lookup', arguments: { query: 'a fairly long query string', limit: 3 } }] }));
    const stream = client.chat.completions.stream({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'find it' }],
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
    });
    const final = await stream.finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    expect(final.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call?.type === 'function' && call.function.name).toBe('lookup');
    expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ query: 'a fairly long query string', limit: 3 });
  });

  it('surfaces a 500 as OpenAI.APIError with OpenAI error fields', async () => {
    fake.respond(() => ({ status: 500, error: { message: 'The server had an error', type: 'server_error', code: 'boom' } }));
    const err = await caught(() => client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }));
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    const apiErr = err as InstanceType<typeof OpenAI.APIError>;
    expect(apiErr.status).toBe(500);
    expect(apiErr.message).toBe('500 The server had an error');
    expect(apiErr.type).toBe('server_error');
    expect(apiErr.code).toBe('boom');
    expect(apiErr.param).toBeNull();
    expect(apiErr.requestID).toMatch(/^req_fake/);
  });

  it('surfaces a 429 as RateLimitError carrying retry-after', async () => {
    fake.respond(() => ({
      status: 429,
      error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' },
      retryAfterSec: 7,
    }));
    const err = await caught(() => client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }));
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const rl = err as InstanceType<typeof OpenAI.RateLimitError>;
    expect(rl.status).toBe(429);
    expect(rl.code).toBe('rate_limit_exceeded');
    expect(rl.headers?.get('retry-after')).toBe('7');
  });

  it('lets the SDK retry a 429 after the advertised retry-after', async () => {
    fake.respond((req, { call }) =>
      call === 1 ? { status: 429, error: { message: 'slow down', type: 'requests' }, retryAfterSec: 0 } : echoReply(req),
    );
    const retrying = new OpenAI({ apiKey: 'sk-test', baseURL: `${fake.url}/v1`, maxRetries: 2 });
    const res = await retrying.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'again' }] });
    expect(res.choices[0]?.message.content).toBe('Echo: again');
    expect(fake.requests).toHaveLength(2);
    // The SDK marks retries, which proves the second request really was its retry.
    expect(fake.requests[1]?.headers['x-stainless-retry-count']).toBe('1');
  });

  it('delays replies by delayMs', async () => {
    fake.respond((req) => ({ ...echoReply(req), delayMs: 150 }));
    const t0 = performance.now();
    await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(145);
  });

  it('returns deterministic unit embeddings in both SDK-default base64 and float encodings', async () => {
    const viaBase64 = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['alpha', 'beta'], dimensions: 8 });
    const viaFloat = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: 'alpha',
      dimensions: 8,
      encoding_format: 'float',
    });
    // The SDK asks for base64 unless told otherwise; that is what makes the decode path worth testing.
    expect(fake.requests[0]?.body).toMatchObject({ encoding_format: 'base64' });
    expect(viaBase64.object).toBe('list');
    expect(viaBase64.data.map((d) => d.index)).toEqual([0, 1]);
    expect(viaBase64.data[0]?.embedding).toEqual(fakeEmbedding('alpha', 8));
    expect(viaBase64.data[1]?.embedding).toEqual(fakeEmbedding('beta', 8));
    expect(viaFloat.data[0]?.embedding).toEqual(viaBase64.data[0]?.embedding);
    expect(viaBase64.data[0]?.embedding).not.toEqual(viaBase64.data[1]?.embedding);
    const norm = Math.hypot(...(viaFloat.data[0]?.embedding ?? []));
    expect(norm).toBeCloseTo(1, 5);
    // "alpha" -> 2 tokens, "beta" -> 1 token under the chars/4 heuristic.
    expect(viaBase64.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    expect(viaBase64.model).toBe('text-embedding-3-small');

    const full = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'alpha' });
    expect(full.data[0]?.embedding).toHaveLength(1536);
  });

  it('lists models', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toContain('gpt-4o-mini');
    expect(ids).toContain('text-embedding-3-small');
  });

  it('rejects a missing bearer token with 401 in OpenAI error shape', async () => {
    const res = await fetch(`${fake.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [] }),
    });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: Record<string, unknown> };
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param: null, code: null });
    expect(String(body.error.message)).toMatch(/didn't provide an API key/);
  });

  it('rejects the wrong key as AuthenticationError when a key is configured', async () => {
    const strict = await startFakeOpenAI({ apiKey: 'sk-right' });
    try {
      const wrong = new OpenAI({ apiKey: 'sk-wrong', baseURL: `${strict.url}/v1`, maxRetries: 0 });
      const err = await caught(() => wrong.models.list());
      expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
      expect((err as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key');
    } finally {
      await strict.close();
    }
  });
});

describe('fake Slack with the official @slack/web-api WebClient', () => {
  let fake: FakeSlack;
  let slack: WebClient;
  beforeEach(async () => {
    fake = await startFakeSlack();
    slack = new WebClient('xoxb-test', { slackApiUrl: `${fake.url}/api/`, retryConfig: { retries: 0 } });
  });
  afterEach(() => fake.close());

  it('answers auth.test for the bot and sends a form-encoded bearer request', async () => {
    const res = await slack.auth.test();
    expect(res).toMatchObject({ ok: true, user_id: 'U0FAKEBOT', team_id: 'T0FAKETEAM', bot_id: 'B0FAKEBOT', team: 'Fake Team' });
    expect(res.response_metadata?.scopes).toContain('chat:write');
    const [req] = fake.requests;
    expect(req?.path).toBe('/api/auth.test');
    expect(req?.headers.authorization).toBe('Bearer xoxb-test');
    expect(req?.headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  it('records chat.postMessage args including thread_ts and JSON-string blocks', async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*hi*' } }];
    const res = await slack.chat.postMessage({
      channel: 'C123',
      text: 'hi in thread',
      thread_ts: '1700000000.000100',
      mrkdwn: false,
      blocks,
    });
    expect(res.ok).toBe(true);
    expect(res.channel).toBe('C123');
    expect(res.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(res.message).toMatchObject({ text: 'hi in thread', user: 'U0FAKEBOT', thread_ts: '1700000000.000100', blocks });

    const second = await slack.chat.postMessage({ channel: 'C123', text: 'another' });
    expect(Number(second.ts)).toBeGreaterThan(Number(res.ts));

    const [post] = fake.posts();
    expect(post).toMatchObject({ channel: 'C123', text: 'hi in thread', thread_ts: '1700000000.000100', mrkdwn: false, blocks, ts: res.ts });
    // Proves the wire format: the SDK sends objects as JSON inside a urlencoded form, booleans as strings.
    expect(post?.args.blocks).toBe(JSON.stringify(blocks));
    expect(post?.args.mrkdwn).toBe('false');
    expect(fake.requests[0]?.rawBody).toContain(`blocks=${encodeURIComponent(JSON.stringify(blocks))}`);
    expect(fake.posts().map((p) => p.text)).toEqual(['hi in thread', 'another']);
  });

  it('updates a posted message and rejects unknown ts', async () => {
    const posted = await slack.chat.postMessage({ channel: 'C1', text: 'draft' });
    const updated = await slack.chat.update({ channel: 'C1', ts: posted.ts!, text: 'final' });
    expect(updated).toMatchObject({ ok: true, channel: 'C1', ts: posted.ts, text: 'final' });
    expect(updated.message?.text).toBe('final');
    const err = (await caught(() => slack.chat.update({ channel: 'C1', ts: '1.000999', text: 'x' }))) as WebAPIPlatformError;
    expect(err.data.error).toBe('message_not_found');
  });

  it('answers conversations.info and users.info', async () => {
    const conv = await slack.conversations.info({ channel: 'C42' });
    expect(conv.channel).toMatchObject({ id: 'C42', is_channel: true, is_im: false, is_member: true });
    const dm = await slack.conversations.info({ channel: 'D7' });
    expect(dm.channel).toMatchObject({ id: 'D7', is_im: true, is_channel: false });
    const user = await slack.users.info({ user: 'U99' });
    expect(user.user).toMatchObject({ id: 'U99', team_id: 'T0FAKETEAM', is_bot: false });
  });

  it('raises invalid_auth for a bad token and not_authed for none', async () => {
    const bad = new WebClient('not-a-slack-token', { slackApiUrl: `${fake.url}/api/`, retryConfig: { retries: 0 } });
    const err = (await caught(() => bad.chat.postMessage({ channel: 'C1', text: 'x' }))) as WebAPIPlatformError;
    expect(err.code).toBe(ErrorCode.PlatformError);
    expect(err.data.error).toBe('invalid_auth');

    const strict = await startFakeSlack({ tokens: ['xoxb-only-this'] });
    try {
      const wrong = new WebClient('xoxb-test', { slackApiUrl: `${strict.url}/api/`, retryConfig: { retries: 0 } });
      expect(((await caught(() => wrong.auth.test())) as WebAPIPlatformError).data.error).toBe('invalid_auth');
      const none = new WebClient(undefined, { slackApiUrl: `${strict.url}/api/`, retryConfig: { retries: 0 } });
      expect(((await caught(() => none.auth.test())) as WebAPIPlatformError).data.error).toBe('not_authed');
    } finally {
      await strict.close();
    }
    expect(fake.posts()).toEqual([]);
  });

  it('rate-limits with 429 + Retry-After, which the SDK reports as retryAfter', async () => {
    const failFast = new WebClient('xoxb-test', {
      slackApiUrl: `${fake.url}/api/`,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
    });
    fake.failNext('chat.postMessage', { retryAfterSec: 30 });
    const err = (await caught(() => failFast.chat.postMessage({ channel: 'C1', text: 'x' }))) as WebAPIRateLimitedError;
    expect(err.code).toBe(ErrorCode.RateLimitedError);
    expect(err.retryAfter).toBe(30);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]?.path).toBe('/api/chat.postMessage');
    expect(fake.posts()).toHaveLength(0);

    // The failure is consumed: the next call goes through.
    await failFast.chat.postMessage({ channel: 'C1', text: 'after' });
    expect(fake.posts().map((p) => p.text)).toEqual(['after']);
  });

  it('lets the SDK honour Retry-After before retrying', async () => {
    const retrying = new WebClient('xoxb-test', {
      slackApiUrl: `${fake.url}/api/`,
      retryConfig: { retries: 1, minTimeout: 0, maxTimeout: 0 },
    });
    fake.failNext('chat.postMessage', { status: 429, retryAfterSec: 1 });
    await retrying.chat.postMessage({ channel: 'C1', text: 'eventually' });
    const [first, second] = fake.requests;
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(990);
    expect(fake.posts().map((p) => p.text)).toEqual(['eventually']);
  });

  it('fails the next call with a platform error or an HTTP status', async () => {
    fake.failNext('conversations.info', { error: 'channel_not_found' });
    fake.failNext('conversations.info', { status: 503 });
    const platform = (await caught(() => slack.conversations.info({ channel: 'C1' }))) as WebAPIPlatformError;
    expect(platform.data.error).toBe('channel_not_found');
    const http = (await caught(() => slack.conversations.info({ channel: 'C1' }))) as { code: string; statusCode: number };
    expect(http.code).toBe(ErrorCode.HTTPError);
    expect(http.statusCode).toBe(503);
    expect((await slack.conversations.info({ channel: 'C1' })).ok).toBe(true);
  });

  it('answers unknown methods with unknown_method', async () => {
    const err = (await caught(() => slack.apiCall('nope.nothing'))) as WebAPIPlatformError;
    expect(err.data.error).toBe('unknown_method');
  });

  it('exchanges an OAuth code once for an install payload', async () => {
    const anon = new WebClient(undefined, { slackApiUrl: `${fake.url}/api/`, retryConfig: { retries: 0 } });
    const creds = { client_id: 'fake-client-id', client_secret: 'fake-client-secret', code: 'fake-oauth-code' };
    const install = await anon.oauth.v2.access(creds);
    expect(install).toMatchObject({
      ok: true,
      access_token: 'xoxb-T0FAKETEAM-fake-installed',
      token_type: 'bot',
      bot_user_id: 'U0FAKEBOT',
      app_id: 'A0FAKEAPP',
      team: { id: 'T0FAKETEAM', name: 'Fake Team' },
      enterprise: null,
      authed_user: { id: 'U0FAKEINSTALLER' },
    });
    expect(install.scope).toContain('chat:write');
    expect(fake.requests[0]?.body).toMatchObject(creds);

    const reused = (await caught(() => anon.oauth.v2.access(creds))) as WebAPIPlatformError;
    expect(reused.data.error).toBe('invalid_code');
    const badSecret = (await caught(() => anon.oauth.v2.access({ ...creds, client_secret: 'nope' }))) as WebAPIPlatformError;
    expect(badSecret.data.error).toBe('bad_client_secret');

    // The issued token works for later calls.
    const installed = new WebClient(install.access_token, { slackApiUrl: `${fake.url}/api/`, retryConfig: { retries: 0 } });
    expect((await installed.auth.test()).ok).toBe(true);
  });

  it('waitForPosts resolves once enough posts arrive and rejects clearly on timeout', async () => {
    const waiting = fake.waitForPosts(2, 1000);
    setTimeout(() => void slack.chat.postMessage({ channel: 'C1', text: 'one' }), 10);
    setTimeout(() => void slack.chat.postMessage({ channel: 'C2', text: 'two' }), 30);
    const posts = await waiting;
    expect(posts.map((p) => [p.channel, p.text])).toEqual([
      ['C1', 'one'],
      ['C2', 'two'],
    ]);
    await expect(fake.waitForPosts(3, 50)).rejects.toThrow(
      /timed out after 50ms waiting for 3 chat.postMessage call\(s\); got 2 \(C1: "one"; C2: "two"\)/,
    );
  });
});
