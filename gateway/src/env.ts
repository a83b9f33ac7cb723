import { z } from 'zod';
import { envFields, parseEnv } from '@konstruct/core';

const url = z.string().url();
const schema = z
  .object({
    NODE_ENV: envFields.nodeEnv,
    LOG_LEVEL: envFields.logLevel,
    PORT: envFields.port(4000),
    HOST: z.string().default('127.0.0.1'),
    TENANCY_URL: url.default('http://127.0.0.1:4001'),
    AGENT_URL: url.default('http://127.0.0.1:4002'),
    MEMORY_URL: url.default('http://127.0.0.1:4003'),
    BILLING_URL: url.default('http://127.0.0.1:4004'),
    AUDIT_URL: url.default('http://127.0.0.1:4005'),
  })
  .transform((e) => ({
    nodeEnv: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    port: e.PORT,
    host: e.HOST,
    subgraphs: { tenancy: e.TENANCY_URL, agent: e.AGENT_URL, memory: e.MEMORY_URL, billing: e.BILLING_URL, audit: e.AUDIT_URL },
  }));

export type GatewayConfig = z.output<typeof schema>;

/** The only reader of process.env in the gateway. */
export function loadEnv(source: Record<string, string | undefined> = process.env): GatewayConfig {
  return parseEnv(schema, source);
}
