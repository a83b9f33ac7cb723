import { z } from 'zod';
import type { EmbedderConfig } from './embedders.ts';
import { DEFAULT_WINDOW } from './window.ts';
import { MEMORY_INDEX_THRESHOLD_DEFAULT } from './maintenance.ts';
import { RECALL_K_DEFAULT } from './long-term.ts';

/**
 * Memory settings as env fields, for agent-runner's env.ts to spread into its schema (env.ts
 * stays the only reader of process.env), and the mapping to the memory modules' config.
 */
export const memoryEnvShape = {
  /** local (built-in, no network) | openai | ollama. */
  MEMORY_EMBEDDER: z.enum(['local', 'openai', 'ollama']).default('local'),
  /** Unset: text-embedding-3-small (OpenAI, asked for 384 dimensions) or all-minilm (Ollama, 384). */
  MEMORY_EMBEDDING_MODEL: z.string().min(1).optional(),
  MEMORY_EMBEDDING_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  MEMORY_WINDOW_TURNS: z.coerce.number().int().min(1).max(200).default(DEFAULT_WINDOW.maxTurns),
  MEMORY_WINDOW_TOKENS: z.coerce.number().int().min(100).max(1_000_000).default(DEFAULT_WINDOW.maxTokens),
  MEMORY_WINDOW_TTL_SECONDS: z.coerce.number().int().min(60).default(DEFAULT_WINDOW.ttlSeconds),
  MEMORY_RECALL_K: z.coerce.number().int().min(0).max(50).default(RECALL_K_DEFAULT),
  MEMORY_INDEX_THRESHOLD: z.coerce.number().int().min(1).default(MEMORY_INDEX_THRESHOLD_DEFAULT),
};

type MemoryEnv = z.output<z.ZodObject<typeof memoryEnvShape>>;

export interface MemoryConfig {
  embedder: EmbedderConfig;
  window: { maxTurns: number; maxTokens: number; ttlSeconds: number };
  /** 0 turns recall off. */
  recallK: number;
  indexThreshold: number;
}

/** `providers`: the base URLs and platform keys env.ts already reads for the LLM router. */
export function memoryConfigFrom(
  e: MemoryEnv,
  providers: { openai: { baseUrl: string; apiKey?: string }; ollama: { baseUrl: string; apiKey?: string } },
): MemoryConfig {
  const timeoutMs = e.MEMORY_EMBEDDING_TIMEOUT_MS;
  const embedder: EmbedderConfig =
    e.MEMORY_EMBEDDER === 'openai'
      ? { provider: 'openai', model: e.MEMORY_EMBEDDING_MODEL ?? 'text-embedding-3-small', baseUrl: providers.openai.baseUrl, apiKey: providers.openai.apiKey, timeoutMs }
      : e.MEMORY_EMBEDDER === 'ollama'
        ? { provider: 'ollama', model: e.MEMORY_EMBEDDING_MODEL ?? 'all-minilm', host: providers.ollama.baseUrl, apiKey: providers.ollama.apiKey, timeoutMs }
        : { provider: 'local' };
  return {
    embedder,
    window: { maxTurns: e.MEMORY_WINDOW_TURNS, maxTokens: e.MEMORY_WINDOW_TOKENS, ttlSeconds: e.MEMORY_WINDOW_TTL_SECONDS },
    recallK: e.MEMORY_RECALL_K,
    indexThreshold: e.MEMORY_INDEX_THRESHOLD,
  };
}
