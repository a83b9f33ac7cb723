import { dbServiceEnvSchema, parseEnv, type DbServiceConfig } from '@konstruct/core';

export type MemoryConfig = DbServiceConfig;

/** The only reader of process.env in the memory subgraph. */
export function loadEnv(source: Record<string, string | undefined> = process.env): MemoryConfig {
  return parseEnv(dbServiceEnvSchema(4003), source);
}
