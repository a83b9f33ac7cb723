import { subgraphEnvSchema, parseEnv, type SubgraphConfig } from '@konstruct/core';

export type AuditConfig = SubgraphConfig;

/** The only reader of process.env in the audit subgraph. */
export function loadEnv(source: Record<string, string | undefined> = process.env): AuditConfig {
  return parseEnv(subgraphEnvSchema(4005), source);
}
