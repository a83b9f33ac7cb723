import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  echoReply,
  startFakeAnthropic,
  startFakeOllama,
  startFakeOpenAI,
  type FakeAnthropic,
  type FakeOllama,
  type FakeOpenAI,
} from '../../test/fakes/index.ts';
import { parseModelGroups } from '../src/llm/deployments.ts';
import { createAnthropicAdapter } from '../src/llm/providers/anthropic.ts';
import { createOllamaAdapter } from '../src/llm/providers/ollama.ts';
import { createOpenAiAdapter } from '../src/llm/providers/openai.ts';
import { LlmRouter, type RouterOptions } from '../src/llm/router.ts';
import type { TenantKey, TenantKeySource } from '../src/llm/tenant-keys.ts';
import { LlmAborted, LlmUnavailable, type LlmAttempt, type ProviderName } from '../src/llm/types.ts';

const CHAIN = ['openai:gpt-4o-mini', 'anthropic:claude-3-5-haiku-latest', 'ollama:llama3.1'];
const ask = { messages: [{ role: 'user' as const, content: 'hello' }] };

async function closedPort(): Promise<string> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

function groups(json: object) {
  const r = parseModelGroups(JSON.stringify(json), 'gpt-4o-mini');
  if ('error' in r) throw new Error(r.error);
  return r.groups;
}

/** In-memory tenant keys, counting look-ups and invalidations. */
function memoryKeys(keys: Record<string, Partial<Record<ProviderName, TenantKey>>>) {
  const calls = { resolve: 0, invalidated: [] as string[] };
  const source: TenantKeySource = {
    async resolve(tenantId, provider) {
      calls.resolve += 1;
      return keys[tenantId]?.[provider] ?? null;
    },
    invalidate(tenantId, provider) {
      calls.invalidated.push(`${tenantId}:${provider}`);
    },
  };
  return { source, calls };
}

let openai: FakeOpenAI;
let anthropic: FakeAnthropic;
let ollama: FakeOllama;
beforeEach(async () => {
  [openai, anthropic, ollama] = await Promise.all([startFakeOpenAI(), startFakeAnthropic(), startFakeOllama()]);
});
afterEach(async () => {
  await Promise.all([openai.close(), anthropic.close(), ollama.close()]);
});

function router(over: Partial<RouterOptions> = {}) {
  return new LlmRouter({
    adapters: { openai: createOpenAiAdapter(), anthropic: createAnthropicAdapter(), ollama: createOllamaAdapter() },
    platform: {
      openai: { baseUrl: `${openai.url}/v1`, apiKey: 'sk-platform-openai' },
      anthropic: { baseUrl: anthropic.url, apiKey: 'sk-ant-platform' },
      ollama: { baseUrl: ollama.url },
    },
    groups: groups({ default: CHAIN }),
    timeoutMs: 2_000,
    maxTokens: 512,
    retry: { maxRetries: 2, baseDelayMs: 5, maxDelayMs: 20, maxRetryAfterMs: 5_000 },
    cooldown: { failureThreshold: 100, cooldownMs: 60_000 },
    ...over,
  });
}

const summary = (attempts: LlmAttempt[]) => attempts.map((a) => `${a.deployment}#${a.try} ${a.outcome}${a.errorClass ? `:${a.errorClass}` : ''}${a.next ? `→${a.next}` : ''}`);

describe('LlmRouter fallback', () => {
  it('primary answers 500 → retried with backoff, then the fallback answers and the switch is reported', async () => {
    openai.respond(() => ({ status: 500, error: { message: 'The server had an error', type: 'server_error' } }));
    anthropic.respond(() => ({ text: 'from claude', usage: { input_tokens: 10, output_tokens: 5 } }));
    const seen: LlmAttempt[] = [];
    const globalSeen: string[] = [];
    const r = router({ onAttempt: (a, call) => globalSeen.push(`${call.tenantId}:${a.seq}`) });
    const res = await r.complete({ ...ask, tenantId: 't-1', onAttempt: (a) => seen.push(a) });

    expect(res.text).toBe('from claude');
    expect(res).toMatchObject({ provider: 'anthropic', deployment: 'anthropic:claude-3-5-haiku-latest', fellBack: true, keySource: 'platform' });
    expect(summary(res.attempts)).toEqual([
      'openai:gpt-4o-mini#1 error:server_error→retry',
      'openai:gpt-4o-mini#2 error:server_error→retry',
      'openai:gpt-4o-mini#3 error:server_error→fallback',
      'anthropic:claude-3-5-haiku-latest#1 ok',
    ]);
    expect(res.attempts[0]).toMatchObject({ status: 500, keySource: 'platform', retryInMs: expect.any(Number) });
    expect(res.attempts[0]!.retryInMs!).toBeGreaterThanOrEqual(2);
    expect(res.attempts[3]).toMatchObject({ outcome: 'ok', usage: { inputTokens: 10, outputTokens: 5 } });
    // The per-call hook saw every attempt as it happened, in order; so did the global one.
    expect(seen).toEqual(res.attempts);
    expect(globalSeen).toEqual(['t-1:1', 't-1:2', 't-1:3', 't-1:4']);
    expect(openai.requests).toHaveLength(3);
    expect(ollama.requests).toHaveLength(0);
  });

  it('primary times out → the fallback answers within the per-call timeout', async () => {
    openai.respond((req) => ({ ...echoReply(req), delayMs: 5_000 }));
    const t0 = performance.now();
    const res = await router({ retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 0 } }).complete({ ...ask, timeoutMs: 200 });
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(res.text).toBe('Echo: hello');
    expect(res.provider).toBe('anthropic');
    expect(summary(res.attempts)).toEqual(['openai:gpt-4o-mini#1 error:timeout→fallback', 'anthropic:claude-3-5-haiku-latest#1 ok']);
    expect(res.attempts[0]!.latencyMs).toBeGreaterThanOrEqual(190);
  });

  it('honours Retry-After on a 429 and retries the same deployment', async () => {
    openai.respond((req, { call }) =>
      call === 1 ? { status: 429, error: { message: 'Rate limit reached', type: 'requests' }, retryAfterSec: 1 } : echoReply(req),
    );
    const res = await router().complete(ask);
    expect(res.provider).toBe('openai');
    expect(res.fellBack).toBe(false);
    expect(summary(res.attempts)).toEqual(['openai:gpt-4o-mini#1 error:rate_limited→retry', 'openai:gpt-4o-mini#2 ok']);
    expect(res.attempts[0]!.retryInMs).toBe(1000);
    const [first, second] = openai.requests;
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(950);
  });

  it('does not wait out a Retry-After longer than allowed: it falls back at once', async () => {
    openai.respond(() => ({ status: 429, error: { message: 'Rate limit reached', type: 'requests' }, retryAfterSec: 60 }));
    const t0 = performance.now();
    const res = await router().complete(ask);
    expect(performance.now() - t0).toBeLessThan(1_500);
    expect(summary(res.attempts)).toEqual(['openai:gpt-4o-mini#1 error:rate_limited→fallback', 'anthropic:claude-3-5-haiku-latest#1 ok']);
  });

  it('never retries a 400; it moves to the next deployment', async () => {
    openai.respond(() => ({ status: 400, error: { message: "Invalid 'messages'", type: 'invalid_request_error' } }));
    const res = await router().complete(ask);
    expect(openai.requests).toHaveLength(1);
    expect(summary(res.attempts)).toEqual(['openai:gpt-4o-mini#1 error:bad_request→fallback', 'anthropic:claude-3-5-haiku-latest#1 ok']);
  });

  it('every provider down → LlmUnavailable carrying each attempt', async () => {
    openai.respond(() => ({ status: 503, error: { message: 'unavailable', type: 'server_error' } }));
    anthropic.respond(() => ({ status: 529, error: { type: 'overloaded_error', message: 'Overloaded' } }));
    const r = router({
      retry: { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 0 },
      platform: {
        openai: { baseUrl: `${openai.url}/v1`, apiKey: 'sk-platform-openai' },
        anthropic: { baseUrl: anthropic.url, apiKey: 'sk-ant-platform' },
        ollama: { baseUrl: await closedPort() },
      },
    });
    const err = await r.complete(ask).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LlmUnavailable);
    const u = err as LlmUnavailable;
    expect(summary(u.attempts)).toEqual([
      'openai:gpt-4o-mini#1 error:overloaded→retry',
      'openai:gpt-4o-mini#2 error:overloaded→fallback',
      'anthropic:claude-3-5-haiku-latest#1 error:overloaded→retry',
      'anthropic:claude-3-5-haiku-latest#2 error:overloaded→fallback',
      'ollama:llama3.1#1 error:connection→retry',
      'ollama:llama3.1#2 error:connection→give_up',
    ]);
    expect(u.reason).toContain('openai:gpt-4o-mini overloaded HTTP 503 (2 tries)');
    expect(u.reason).toContain('anthropic:claude-3-5-haiku-latest overloaded HTTP 529');
    expect(u.reason).toContain('ollama:llama3.1 connection');
  });

  it('skips deployments without a key and says so', async () => {
    const r = router({
      groups: groups({ default: ['anthropic:claude-3-5-haiku-latest', 'openai:gpt-4o-mini'] }),
      platform: {
        openai: { baseUrl: `${openai.url}/v1`, apiKey: 'sk-platform-openai' },
        anthropic: { baseUrl: anthropic.url },
        ollama: { baseUrl: ollama.url },
      },
    });
    const res = await r.complete(ask);
    expect(summary(res.attempts)).toEqual(['anthropic:claude-3-5-haiku-latest#0 skipped:no_credentials→fallback', 'openai:gpt-4o-mini#1 ok']);
    expect(anthropic.requests).toHaveLength(0);
  });

  it('stops at once, without LlmUnavailable, when the caller aborts', async () => {
    openai.respond((req) => ({ ...echoReply(req), delayMs: 3_000 }));
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const err = await router().complete({ ...ask, signal: ac.signal }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LlmAborted);
    expect(summary((err as LlmAborted).attempts)).toEqual(['openai:gpt-4o-mini#1 error:aborted→give_up']);
    expect(anthropic.requests).toHaveLength(0);
  });

  it('computes the cost of the answering call from the price table, cache tokens included', async () => {
    const r = router({ groups: groups({ default: ['anthropic:claude-sonnet-4-5-20250929'] }) });
    anthropic.respond(() => ({ text: 'ok', usage: { input_tokens: 1_000, cache_read_input_tokens: 10_000, cache_creation_input_tokens: 0, output_tokens: 500 } }));
    const res = await r.complete(ask);
    // Sonnet 4.5: 1000 × 3 + 10000 × 0.3 + 500 × 15 = 3000 + 3000 + 7500.
    expect(res.costUsdMicros).toBe(13_500n);
    expect(res.attempts.at(-1)!.costUsdMicros).toBe(13_500n);
  });
});

describe('LlmRouter chains', () => {
  it('follows Agent.modelPreferences: the agent\'s models, then its group', async () => {
    const r = router({ groups: groups({ default: ['openai:gpt-4o-mini'], local: ['ollama:qwen2.5:7b'] }) });
    anthropic.respond(() => ({ status: 500, error: { type: 'api_error', message: 'boom' } }));
    const res = await r.complete({ ...ask, preferences: { group: 'local', models: ['anthropic:claude-3-5-haiku-latest'] } });
    expect(res.provider).toBe('ollama');
    expect(res.model).toBe('qwen2.5:7b');
    expect(ollama.chatRequests()[0]!.model).toBe('qwen2.5:7b');
    expect(openai.requests).toHaveLength(0);
  });

  it('a legacy bare model name is that OpenAI model, followed by the default group', () => {
    const r = router();
    expect(r.chainFor({ model: 'gpt-4.1' }).deployments.map((d) => d.id)).toEqual(['openai:gpt-4.1', ...CHAIN]);
    expect(r.chainFor({}).deployments.map((d) => d.id)).toEqual(CHAIN);
  });
});

describe('LlmRouter cooldown', () => {
  it('skips a deployment after N consecutive failures and tries it again after T', async () => {
    let now = 1_000_000;
    const r = router({
      now: () => now,
      retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 0 },
      cooldown: { failureThreshold: 2, cooldownMs: 30_000 },
    });
    openai.respond(() => ({ status: 500, error: { message: 'boom', type: 'server_error' } }));
    for (let i = 0; i < 2; i++) expect((await r.complete(ask)).provider).toBe('anthropic');
    expect(openai.requests).toHaveLength(2);

    // Cooling down: the primary is not called at all.
    now += 29_000;
    const cooled = await r.complete(ask);
    expect(openai.requests).toHaveLength(2);
    expect(summary(cooled.attempts)).toEqual(['openai:gpt-4o-mini#0 skipped:cooldown→fallback', 'anthropic:claude-3-5-haiku-latest#1 ok']);
    expect(cooled.attempts[0]!.message).toContain('1000 ms');

    // After T the primary is tried again; it has recovered and answers.
    now += 1_001;
    openai.respond(echoReply);
    const back = await r.complete(ask);
    expect(back.provider).toBe('openai');
    expect(openai.requests).toHaveLength(3);
    expect(back.fellBack).toBe(false);
  });

  it('a success resets the count; one failure after a cooldown starts a new one', async () => {
    let now = 0;
    const r = router({
      now: () => now,
      retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 0 },
      cooldown: { failureThreshold: 2, cooldownMs: 10_000 },
    });
    openai.respond((req, { call }) => (call === 2 ? echoReply(req) : { status: 500, error: { message: 'boom', type: 'server_error' } }));
    await r.complete(ask); // fail 1
    expect((await r.complete(ask)).provider).toBe('openai'); // success resets
    await r.complete(ask); // fail 1 again
    expect((await r.complete(ask)).attempts[0]!.outcome).toBe('error'); // fail 2 → cooldown
    expect((await r.complete(ask)).attempts[0]!.errorClass).toBe('cooldown');
    now += 10_000;
    expect((await r.complete(ask)).attempts[0]!.outcome).toBe('error'); // probe fails
    expect((await r.complete(ask)).attempts[0]!.errorClass).toBe('cooldown'); // straight back
  });

  it('with every deployment cooling down, probes the first one rather than refusing', async () => {
    const r = router({
      groups: groups({ default: ['openai:gpt-4o-mini'] }),
      retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 0 },
      cooldown: { failureThreshold: 1, cooldownMs: 60_000 },
    });
    openai.respond((req, { call }) => (call === 1 ? { status: 500, error: { message: 'boom', type: 'server_error' } } : echoReply(req)));
    await expect(r.complete(ask)).rejects.toBeInstanceOf(LlmUnavailable);
    const res = await r.complete(ask);
    expect(summary(res.attempts)).toEqual(['openai:gpt-4o-mini#0 skipped:cooldown→give_up', 'openai:gpt-4o-mini#1 ok']);
  });
});

describe('LlmRouter tenant keys', () => {
  const tenantKey = (provider: ProviderName, apiKey: string): TenantKey => ({ keyId: `key-${provider}`, provider, apiKey, baseUrl: null });

  it('uses the tenant key in preference to the platform key', async () => {
    const { source } = memoryKeys({ 'tenant-a': { openai: tenantKey('openai', 'sk-tenant-a-openai'), anthropic: tenantKey('anthropic', 'sk-ant-tenant-a') } });
    const r = router({ tenantKeys: source });
    const a = await r.complete({ ...ask, tenantId: 'tenant-a' });
    expect(a.keySource).toBe('tenant');
    expect(openai.requests.at(-1)!.headers.authorization).toBe('Bearer sk-tenant-a-openai');

    // Another tenant without keys runs on the platform's.
    const b = await r.complete({ ...ask, tenantId: 'tenant-b' });
    expect(b.keySource).toBe('platform');
    expect(openai.requests.at(-1)!.headers.authorization).toBe('Bearer sk-platform-openai');

    openai.respond(() => ({ status: 500, error: { message: 'boom', type: 'server_error' } }));
    const fell = await router({ tenantKeys: source, retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 0 } }).complete({ ...ask, tenantId: 'tenant-a' });
    expect(fell.provider).toBe('anthropic');
    expect(fell.keySource).toBe('tenant');
    expect(anthropic.requests.at(-1)!.headers.authorization).toBe('Bearer sk-ant-tenant-a');
  });

  it('a 401 on the tenant key drops the cached key and retries once with the platform key', async () => {
    await openai.close();
    openai = await startFakeOpenAI({ apiKey: 'sk-platform-openai' });
    const { source, calls } = memoryKeys({ 'tenant-a': { openai: tenantKey('openai', 'sk-tenant-revoked-at-vendor') } });
    const res = await router({ tenantKeys: source }).complete({ ...ask, tenantId: 'tenant-a' });
    expect(res.provider).toBe('openai');
    expect(res.keySource).toBe('platform');
    expect(summary(res.attempts)).toEqual(['openai:gpt-4o-mini#1 error:auth→retry', 'openai:gpt-4o-mini#2 ok']);
    expect(res.attempts[0]!.keySource).toBe('tenant');
    expect(res.attempts[0]!.message).not.toContain('sk-tenant-revoked-at-vendor');
    expect(calls.invalidated).toEqual(['tenant-a:openai']);
    expect(openai.requests.map((q) => q.headers.authorization)).toEqual(['Bearer sk-tenant-revoked-at-vendor', 'Bearer sk-platform-openai']);
  });

  it('falls back to the platform key when the tenant key look-up fails', async () => {
    const broken: TenantKeySource = {
      resolve: async () => {
        throw new Error('database down');
      },
      invalidate: () => undefined,
    };
    const res = await router({ tenantKeys: broken }).complete({ ...ask, tenantId: 'tenant-a' });
    expect(res.keySource).toBe('platform');
  });
});
