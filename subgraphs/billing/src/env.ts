import { dbServiceEnvSchema, parseEnv, type DbServiceConfig } from '@konstruct/core';

export type BillingConfig = DbServiceConfig;

/** The only reader of process.env in the billing subgraph. */
export function loadEnv(source: Record<string, string | undefined> = process.env): BillingConfig {
  return parseEnv(dbServiceEnvSchema(4004), source);
}
