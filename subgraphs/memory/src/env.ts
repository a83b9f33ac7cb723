import { z } from 'zod';
import { envFields, parseEnv } from '@konstruct/core';

const schema = z
  .object({
    NODE_ENV: envFields.nodeEnv,
    LOG_LEVEL: envFields.logLevel,
    PORT: envFields.port(4003),
    HOST: z.string().default('127.0.0.1'),
    DATABASE_URL: envFields.databaseUrl,
  })
  .transform((e) => ({ nodeEnv: e.NODE_ENV, logLevel: e.LOG_LEVEL, port: e.PORT, host: e.HOST, databaseUrl: e.DATABASE_URL }));

export type MemoryConfig = z.output<typeof schema>;

/** The only reader of process.env in the memory subgraph. */
export function loadEnv(source: Record<string, string | undefined> = process.env): MemoryConfig {
  return parseEnv(schema, source);
}
