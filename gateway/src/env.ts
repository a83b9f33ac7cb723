import { z } from 'zod';
import { envFields, parseEnv } from '@konstruct/core';

const url = z.string().url();
const schema = z
  .object({
    NODE_ENV: envFields.nodeEnv,
    LOG_LEVEL: envFields.logLevel,
    PORT: envFields.port(4000),
    HOST: z.string().default('127.0.0.1'),
    DATABASE_URL: envFields.databaseUrl,
    REDIS_URL: envFields.redisUrl,
    REDIS_KEY_PREFIX: z.string().default('konstruct:'),
    JWT_SECRET: z.string().min(32, 'must be at least 32 characters'),
    GATEWAY_SIGNING_SECRET: z.string().min(32, 'must be at least 32 characters'),
    TENANCY_URL: url.default('http://127.0.0.1:4001'),
    AGENT_URL: url.default('http://127.0.0.1:4002'),
    MEMORY_URL: url.default('http://127.0.0.1:4003'),
    BILLING_URL: url.default('http://127.0.0.1:4004'),
    AUDIT_URL: url.default('http://127.0.0.1:4005'),
    GATEWAY_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(600),
    GATEWAY_ANONYMOUS_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(30),
    GATEWAY_BODY_LIMIT: z.string().regex(/^\d+(kb|mb)$/).default('100kb'),
  })
  .transform((e) => ({
    nodeEnv: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    jwtSecret: e.JWT_SECRET,
    signingSecret: e.GATEWAY_SIGNING_SECRET,
    subgraphs: { tenancy: e.TENANCY_URL, agent: e.AGENT_URL, memory: e.MEMORY_URL, billing: e.BILLING_URL, audit: e.AUDIT_URL },
    rateLimit: { perMinute: e.GATEWAY_RATE_LIMIT_PER_MINUTE, anonymousPerMinute: e.GATEWAY_ANONYMOUS_RATE_LIMIT_PER_MINUTE },
    bodyLimit: e.GATEWAY_BODY_LIMIT,
  }));

export type GatewayConfig = z.output<typeof schema>;

/** The only reader of process.env in the gateway. */
export function loadEnv(source: Record<string, string | undefined> = process.env): GatewayConfig {
  return parseEnv(schema, source);
}
