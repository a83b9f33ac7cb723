import { z } from 'zod';
import { envFields, parseEnv } from '@konstruct/core';

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
    RUNNER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(32),
    // Unstarted prefetched messages count toward the delivery limit when a consumer stops, so
    // keep prefetch near concurrency. Unset: twice the concurrency.
    RUNNER_PREFETCH: z.coerce.number().int().min(1).max(2000).optional(),
    HISTORY_MESSAGES: z.coerce.number().int().min(0).max(200).default(20),
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
    defaultModel: e.DEFAULT_MODEL,
    concurrency: e.RUNNER_CONCURRENCY,
    prefetch: e.RUNNER_PREFETCH ?? e.RUNNER_CONCURRENCY * 2,
    historyMessages: e.HISTORY_MESSAGES,
  }));

export type RunnerConfig = z.output<typeof schema>;

/** The only reader of process.env in agent-runner. */
export function loadEnv(source: Record<string, string | undefined> = process.env): RunnerConfig {
  return parseEnv(schema, source);
}
