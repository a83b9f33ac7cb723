import { subgraphEnvSchema, parseEnv, type SubgraphConfig } from '@konstruct/core';

export type MemoryConfig = SubgraphConfig;

/** The only reader of process.env in the memory subgraph. */
export function loadEnv(source: Record<string, string | undefined> = process.env): MemoryConfig {
  return parseEnv(subgraphEnvSchema(4003), source);
}
