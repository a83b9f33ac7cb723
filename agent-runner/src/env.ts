import { z } from 'zod';
import { envFields, parseEnv } from '@konstruct/core';
import { parseModelGroups, type ModelGroups } from './llm/deployments.ts';
import { memoryConfigFrom, memoryEnvShape } from './memory/config.ts';

/** Already validated by the schema's refinement; this only builds the value. */
function modelGroups(json: string, defaultModel: string): ModelGroups {
  const r = parseModelGroups(json, defaultModel);
  if ('error' in r) throw new Error(`LLM_MODEL_GROUPS: ${r.error}`);
  return r.groups;
}

const schema = z
  .object({
    NODE_ENV: envFields.nodeEnv,
    LOG_LEVEL: envFields.logLevel,
    PORT: envFields.port(3001),
    HOST: z.string().default('127.0.0.1'),
    DATABASE_URL: envFields.databaseUrl,
    AMQP_URL: envFields.amqpUrl,
    REDIS_URL: envFields.redisUrl,
    REDIS_KEY_PREFIX: z.string().default('konstruct:'),
    BUS_PREFIX: z.string().regex(/^[a-z0-9.-]*$/).default(''),
    KONSTRUCT_MASTER_KEY: envFields.masterKey,
    KONSTRUCT_PREVIOUS_MASTER_KEYS: z.string().default(''),
    OPENAI_BASE_URL: z.string().url().default('https://api.openai.com/v1'),
    OPENAI_API_KEY: z.string().optional(),
    DEFAULT_MODEL: z.string().default('gpt-4o-mini'),
    LLM_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
    // The SDK appends /v1/messages, so no /v1 here (unlike OPENAI_BASE_URL).
    ANTHROPIC_BASE_URL: z.string().url().default('https://api.anthropic.com'),
    ANTHROPIC_API_KEY: z.string().optional(),
    OLLAMA_HOST: z.string().default('http://127.0.0.1:11434'),
    OLLAMA_API_KEY: z.string().optional(),
    // JSON: {"default":["openai:gpt-4o-mini","anthropic:claude-3-5-haiku-latest","ollama:llama3.1"],"cheap":[…]}.
    // Unset: {"default":["openai:<DEFAULT_MODEL>"]}.
    LLM_MODEL_GROUPS: z
      .string()
      .default('')
      .superRefine((s, ctx) => {
        const r = parseModelGroups(s, 'gpt-4o-mini');
        if ('error' in r) ctx.addIssue({ code: 'custom', message: r.error });
      }),
    LLM_MAX_TOKENS: z.coerce.number().int().positive().default(1024),
    LLM_MAX_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
    LLM_RETRY_BASE_MS: z.coerce.number().int().min(0).default(500),
    LLM_RETRY_MAX_MS: z.coerce.number().int().min(0).default(8_000),
    LLM_RETRY_AFTER_MAX_MS: z.coerce.number().int().min(0).default(10_000),
    LLM_COOLDOWN_FAILURES: z.coerce.number().int().min(1).default(3),
    LLM_COOLDOWN_MS: z.coerce.number().int().min(0).default(30_000),
    LLM_TENANT_KEY_TTL_MS: z.coerce.number().int().min(0).default(60_000),
    RUNNER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(32),
    // Unstarted prefetched messages count toward the delivery limit when a consumer stops, so
    // keep prefetch near concurrency. Unset: twice the concurrency.
    RUNNER_PREFETCH: z.coerce.number().int().min(1).max(2000).optional(),
    // One conversation's messages are answered one at a time. The lock is renewed while a turn
    // runs; a runner that crashed frees its conversation after this long.
    RUNNER_CONVERSATION_LOCK_MS: z.coerce.number().int().min(300).default(5_000),
    RUNNER_CONVERSATION_RETRY_MS: z.coerce.number().int().min(10).default(500),
    HISTORY_MESSAGES: z.coerce.number().int().min(0).max(200).default(20),
    // Development only: lets tools marked allowPrivateNetwork reach private/loopback addresses.
    TOOLS_ALLOW_PRIVATE_NETWORK: z.enum(['true', 'false']).default('false'),
    TOOLS_MAX_STEPS: z.coerce.number().int().min(0).max(20).default(5),
    ...memoryEnvShape,
  })
  .transform((e) => ({
    nodeEnv: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    amqpUrl: e.AMQP_URL,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    busPrefix: e.BUS_PREFIX,
    masterKey: e.KONSTRUCT_MASTER_KEY,
    previousMasterKeys: e.KONSTRUCT_PREVIOUS_MASTER_KEYS.split(',').filter(Boolean),
    openai: { baseUrl: e.OPENAI_BASE_URL, apiKey: e.OPENAI_API_KEY, timeoutMs: e.LLM_TIMEOUT_MS },
    anthropic: { baseUrl: e.ANTHROPIC_BASE_URL, apiKey: e.ANTHROPIC_API_KEY },
    ollama: { baseUrl: e.OLLAMA_HOST, apiKey: e.OLLAMA_API_KEY },
    llm: {
      groups: modelGroups(e.LLM_MODEL_GROUPS, e.DEFAULT_MODEL),
      timeoutMs: e.LLM_TIMEOUT_MS,
      maxTokens: e.LLM_MAX_TOKENS,
      retry: {
        maxRetries: e.LLM_MAX_RETRIES,
        baseDelayMs: e.LLM_RETRY_BASE_MS,
        maxDelayMs: e.LLM_RETRY_MAX_MS,
        maxRetryAfterMs: e.LLM_RETRY_AFTER_MAX_MS,
      },
      cooldown: { failureThreshold: e.LLM_COOLDOWN_FAILURES, cooldownMs: e.LLM_COOLDOWN_MS },
      tenantKeyTtlMs: e.LLM_TENANT_KEY_TTL_MS,
    },
    defaultModel: e.DEFAULT_MODEL,
    concurrency: e.RUNNER_CONCURRENCY,
    prefetch: e.RUNNER_PREFETCH ?? e.RUNNER_CONCURRENCY * 2,
    historyMessages: e.HISTORY_MESSAGES,
    conversationOrder: { lockMs: e.RUNNER_CONVERSATION_LOCK_MS, retryMs: e.RUNNER_CONVERSATION_RETRY_MS },
    tools: { allowPrivateNetwork: e.TOOLS_ALLOW_PRIVATE_NETWORK === 'true', maxSteps: e.TOOLS_MAX_STEPS },
    memory: memoryConfigFrom(e, {
      openai: { baseUrl: e.OPENAI_BASE_URL, ...(e.OPENAI_API_KEY && { apiKey: e.OPENAI_API_KEY }) },
      ollama: { baseUrl: e.OLLAMA_HOST, ...(e.OLLAMA_API_KEY && { apiKey: e.OLLAMA_API_KEY }) },
    }),
  }));

export type RunnerConfig = z.output<typeof schema>;

/** The only reader of process.env in agent-runner. */
export function loadEnv(source: Record<string, string | undefined> = process.env): RunnerConfig {
  return parseEnv(schema, source);
}
