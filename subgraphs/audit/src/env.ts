import { dbServiceEnvSchema, parseEnv, type DbServiceConfig } from '@konstruct/core';

export type AuditConfig = DbServiceConfig;

/** The only reader of process.env in the audit subgraph. */
export function loadEnv(source: Record<string, string | undefined> = process.env): AuditConfig {
  return parseEnv(dbServiceEnvSchema(4005), source);
}
