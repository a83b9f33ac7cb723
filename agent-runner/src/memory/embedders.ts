import OpenAI from 'openai';
import { Ollama } from 'ollama';
import { EMBEDDING_DIMS, localEmbedder, type Embedder } from '@konstruct/core';

/**
 * The embedders long-term memory can use, behind core's `Embedder` interface:
 * - `local` (default): the built-in hashing embedder, no network, no model server;
 * - `openai`: the embeddings API through the official SDK (`OPENAI_BASE_URL`). The
 *   text-embedding-3 models shorten their vectors on request, so they are asked for 384;
 * - `ollama`: `/api/embed` through the official `ollama` client (`OLLAMA_HOST`). Ollama
 *   models have a fixed width, so only 384-dimension ones fit (all-minilm,
 *   snowflake-arctic-embed:33m, bge-small, …); anything else is refused with a clear error.
 *
 * Why 384 only: `memory_items.embedding` is `vector(384)`, and pgvector indexes need one width
 * per column. Another width would need its own column (or table) with its own indexes, e.g.
 * `embedding_1536 vector(1536)`, chosen by `embedding_model` — not built until a model needs it.
 * The stored model name includes provider and width, so vectors of different models are never
 * compared (searches filter on it); switching models means re-embedding existing memories.
 */

export type EmbedderConfig =
  | { provider: 'local' }
  | { provider: 'openai'; model: string; baseUrl: string; apiKey?: string; timeoutMs: number }
  | { provider: 'ollama'; model: string; host: string; apiKey?: string; timeoutMs: number };

/** The embedding model failed or answered with something unusable; the caller carries on without memory. */
export class EmbeddingFailed extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EmbeddingFailed';
  }
}

function checked(model: string, vectors: number[][], count: number): number[][] {
  if (vectors.length !== count) throw new EmbeddingFailed(`${model} returned ${vectors.length} vectors for ${count} texts`);
  for (const v of vectors) {
    if (v.length !== EMBEDDING_DIMS) {
      throw new EmbeddingFailed(`${model} returned ${v.length}-dimension vectors; memory_items.embedding holds ${EMBEDDING_DIMS} (use a ${EMBEDDING_DIMS}-dimension model)`);
    }
    if (v.some((x) => !Number.isFinite(x))) throw new EmbeddingFailed(`${model} returned a non-finite component`);
  }
  return vectors;
}

function single(embedder: Omit<Embedder, 'embed'>): Embedder {
  return {
    ...embedder,
    embedMany: embedder.embedMany.bind(embedder),
    embed: async (text, signal) => (await embedder.embedMany([text], signal))[0]!,
  };
}

export function openAiEmbedder(cfg: Extract<EmbedderConfig, { provider: 'openai' }>): Embedder {
  // Retries are the SDK's (429/5xx/timeouts, with backoff); memory is off the reply path.
  const client = new OpenAI({ apiKey: cfg.apiKey ?? 'not-set', baseURL: cfg.baseUrl, timeout: cfg.timeoutMs, maxRetries: 2 });
  const model = `openai/${cfg.model}:${EMBEDDING_DIMS}`;
  return single({
    model,
    dims: EMBEDDING_DIMS,
    async embedMany(texts, signal) {
      if (!texts.length) return [];
      let res;
      try {
        res = await client.embeddings.create({ model: cfg.model, input: [...texts], dimensions: EMBEDDING_DIMS, encoding_format: 'float' }, { signal });
      } catch (e) {
        throw new EmbeddingFailed(`${model}: ${(e as Error).message}`, { cause: e });
      }
      const ordered = [...res.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
      return checked(model, ordered, texts.length);
    },
  });
}

export function ollamaEmbedder(cfg: Extract<EmbedderConfig, { provider: 'ollama' }>): Embedder {
  const model = `ollama/${cfg.model}`;
  return single({
    model,
    dims: EMBEDDING_DIMS,
    async embedMany(texts, signal) {
      if (!texts.length) return [];
      // A client per call: the ollama client aborts all of its requests at once, and the
      // per-call timeout needs its own signal.
      const timeout = AbortSignal.timeout(cfg.timeoutMs);
      const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
      const client = new Ollama({
        host: cfg.host,
        headers: cfg.apiKey ? { Authorization: `Bearer ${cfg.apiKey}` } : undefined,
        fetch: (input, init) => fetch(input, { ...init, signal: both }),
      });
      let res;
      try {
        res = await client.embed({ model: cfg.model, input: [...texts], truncate: true });
      } catch (e) {
        throw new EmbeddingFailed(`${model}: ${(e as Error).message}`, { cause: e });
      }
      return checked(model, res.embeddings, texts.length);
    },
  });
}

export function createEmbedder(cfg: EmbedderConfig): Embedder {
  switch (cfg.provider) {
    case 'local':
      return localEmbedder;
    case 'openai':
      return openAiEmbedder(cfg);
    case 'ollama':
      return ollamaEmbedder(cfg);
  }
}
