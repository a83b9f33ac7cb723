import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMBEDDING_DIMS, LOCAL_EMBEDDING_MODEL, embedText } from '@konstruct/core';
import type { Db, TenantScope } from '@konstruct/db';
import { appDb, createTenant, ownerClient } from '../../../test/support/db.ts';
import { fakeEmbedding, startFakeOllama, startFakeOpenAI, type FakeOllama, type FakeOpenAI, type FakeServer } from '../../../test/fakes/index.ts';
import { sendJson, startRecordingServer } from '../../../test/fakes/recording-server.ts';
import { EmbeddingFailed, createEmbedder } from '../../src/memory/embedders.ts';
import { LongTermMemory } from '../../src/memory/long-term.ts';
import { createAgent, logger } from './support.ts';

/**
 * The embedders through the official SDKs against fake vendor servers that speak the real wire
 * formats (test/fakes): OpenAI's /v1/embeddings and Ollama's /api/embed.
 */

let openai: FakeOpenAI;
let ollama: FakeOllama;
/** An Ollama server whose model has 384 dimensions (all-minilm), in Ollama's /api/embed format. */
let minilm: FakeServer;

beforeAll(async () => {
  openai = await startFakeOpenAI({ apiKey: 'sk-test-embeddings' });
  ollama = await startFakeOllama();
  minilm = await startRecordingServer(0, (req, res) => {
    const body = req.body as { model: string; input: string | string[] };
    const inputs = typeof body.input === 'string' ? [body.input] : body.input;
    sendJson(res, 200, { model: body.model, embeddings: inputs.map((t) => fakeEmbedding(t, 384)), total_duration: 1, load_duration: 1, prompt_eval_count: 3 });
  });
});

afterAll(async () => {
  await openai?.close();
  await ollama?.close();
  await minilm?.close();
});

describe('createEmbedder', () => {
  it('local: the built-in embedder, no network', async () => {
    const e = createEmbedder({ provider: 'local' });
    expect(e.model).toBe(LOCAL_EMBEDDING_MODEL);
    expect(await e.embed('green tea')).toEqual(embedText('green tea'));
  });

  it('openai: asks text-embedding-3 for 384 dimensions, one request for many texts, results in input order', async () => {
    const e = createEmbedder({ provider: 'openai', model: 'text-embedding-3-small', baseUrl: `${openai.url}/v1`, apiKey: 'sk-test-embeddings', timeoutMs: 5_000 });
    expect(e.model).toBe('openai/text-embedding-3-small:384');
    const before = openai.requests.length;
    const vs = await e.embedMany(['alpha', 'beta', 'gamma']);
    expect(openai.requests.length - before).toBe(1);
    const req = openai.requests.at(-1)!;
    expect(req.path).toBe('/v1/embeddings');
    expect(req.headers.authorization).toBe('Bearer sk-test-embeddings');
    expect(req.body).toMatchObject({ model: 'text-embedding-3-small', input: ['alpha', 'beta', 'gamma'], dimensions: 384, encoding_format: 'float' });
    expect(vs).toEqual(['alpha', 'beta', 'gamma'].map((t) => fakeEmbedding(t, 384)));
    expect(await e.embed('beta')).toEqual(fakeEmbedding('beta', 384));
  });

  it('openai: a refused key is an EmbeddingFailed', async () => {
    const e = createEmbedder({ provider: 'openai', model: 'text-embedding-3-small', baseUrl: `${openai.url}/v1`, apiKey: 'sk-wrong', timeoutMs: 5_000 });
    await expect(e.embed('alpha')).rejects.toThrow(EmbeddingFailed);
    await expect(e.embed('alpha')).rejects.toThrow(/401|Incorrect API key/);
  });

  it('ollama: /api/embed through the ollama client, batch in one request', async () => {
    const e = createEmbedder({ provider: 'ollama', model: 'all-minilm', host: minilm.url, timeoutMs: 5_000 });
    expect(e.model).toBe('ollama/all-minilm');
    const vs = await e.embedMany(['one', 'two']);
    expect(vs).toEqual([fakeEmbedding('one', 384), fakeEmbedding('two', 384)]);
    const req = minilm.requests.at(-1)!;
    expect(req.path).toBe('/api/embed');
    expect(req.body).toMatchObject({ model: 'all-minilm', input: ['one', 'two'], truncate: true });
  });

  it('ollama: a model of another width is refused with a clear error (the column is vector(384))', async () => {
    const e = createEmbedder({ provider: 'ollama', model: 'nomic-embed-text', host: ollama.url, timeoutMs: 5_000 });
    await expect(e.embed('one')).rejects.toThrow(/returned 768-dimension vectors; memory_items.embedding holds 384/);
  });

  it('ollama: an unknown model is an EmbeddingFailed carrying Ollama\'s message', async () => {
    const strict = await startFakeOllama({ models: ['all-minilm'] });
    try {
      const e = createEmbedder({ provider: 'ollama', model: 'missing-model', host: strict.url, timeoutMs: 5_000 });
      await expect(e.embed('one')).rejects.toThrow(/missing-model.*not found/);
    } finally {
      await strict.close();
    }
  });
});

describe('long-term memory with a remote embedder', () => {
  let owner: pg.Client;
  let db: Db;
  let T: TenantScope;

  beforeAll(async () => {
    owner = await ownerClient();
    db = appDb(2);
    T = await createTenant(owner, 'Embedder tenant');
  });

  afterAll(async () => {
    await db?.close();
    await owner?.end();
  });

  it('stores vectors with the model name and only compares vectors of that model', async () => {
    const agentId = await createAgent(owner, T.tenantId);
    const remote = new LongTermMemory({
      db,
      logger,
      embedder: createEmbedder({ provider: 'openai', model: 'text-embedding-3-small', baseUrl: `${openai.url}/v1`, apiKey: 'sk-test-embeddings', timeoutMs: 5_000 }),
    });
    const local = new LongTermMemory({ db, logger, embedder: createEmbedder({ provider: 'local' }) });
    const stored = await remote.rememberTurn(T, { agentId, conversationId: null, endUserExternalId: 'U1', userText: 'I prefer green tea in the morning.' });
    expect(stored.ok && stored.value.stored).toHaveLength(1);
    await local.rememberTurn(T, { agentId, conversationId: null, endUserExternalId: 'U1', userText: 'I live in Lisbon near the river.' });

    const { rows } = await owner.query<{ text: string; embedding_model: string; dims: number }>(
      'SELECT text, embedding_model, vector_dims(embedding) AS dims FROM memory_items WHERE tenant_id = $1 ORDER BY text',
      [T.tenantId],
    );
    expect(rows).toEqual([
      { text: 'I live in Lisbon near the river.', embedding_model: LOCAL_EMBEDDING_MODEL, dims: EMBEDDING_DIMS },
      { text: 'I prefer green tea in the morning.', embedding_model: 'openai/text-embedding-3-small:384', dims: EMBEDDING_DIMS },
    ]);
    const viaRemote = await remote.recall(T, { agentId, endUserExternalId: 'U1', query: 'I prefer green tea in the morning.', maxDistance: 2 });
    expect(viaRemote.ok && viaRemote.value.memories.map((m) => [m.text, Number(m.score.toFixed(4))])).toEqual([['I prefer green tea in the morning.', 1]]);
    const viaLocal = await local.recall(T, { agentId, endUserExternalId: 'U1', query: 'green tea', maxDistance: 2 });
    expect(viaLocal.ok && viaLocal.value.memories.map((m) => m.text)).toEqual(['I live in Lisbon near the river.']);
  });
});
