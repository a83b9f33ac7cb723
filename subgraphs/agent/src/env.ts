import { dbServiceEnvSchema, parseEnv, type DbServiceConfig } from '@konstruct/core';

export type AgentConfig = DbServiceConfig;

/** The only reader of process.env in the agent subgraph. */
export function loadEnv(source: Record<string, string | undefined> = process.env): AgentConfig {
  return parseEnv(dbServiceEnvSchema(4002), source);
}
