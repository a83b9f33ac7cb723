import { dbServiceEnvSchema, parseEnv, type DbServiceConfig } from '@konstruct/core';

export type TenancyConfig = DbServiceConfig;

/** The only reader of process.env in the tenancy subgraph. */
export function loadEnv(source: Record<string, string | undefined> = process.env): TenancyConfig {
  return parseEnv(dbServiceEnvSchema(4001), source);
}
