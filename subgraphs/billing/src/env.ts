import { z } from 'zod';
import { envFields, parseEnv, subgraphEnvSchema } from '@konstruct/core';

/**
 * The shared subgraph env plus the master key that seals tenants' provider keys. An
 * intersection so both halves are checked in one pass and every problem is reported at once.
 */
const billingEnvSchema = z.intersection(
  subgraphEnvSchema(4004),
  z
    .object({ KONSTRUCT_MASTER_KEY: envFields.masterKey })
    .transform((e) => ({ masterKey: e.KONSTRUCT_MASTER_KEY })),
);

export type BillingConfig = z.output<typeof billingEnvSchema>;

/** The only reader of process.env in the billing subgraph. */
export function loadEnv(source: Record<string, string | undefined> = process.env): BillingConfig {
  return parseEnv(billingEnvSchema, source);
}
