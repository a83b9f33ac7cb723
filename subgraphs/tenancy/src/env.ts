import { z } from 'zod';
import { DEFAULT_BRIDGE_PUBLIC_URL, envFields, parseEnv, subgraphConfigFrom, subgraphEnvShape } from '@konstruct/core';

const schema = z
  .object({
    ...subgraphEnvShape(4001),
    JWT_SECRET: z.string().min(32, 'must be at least 32 characters'),
    KONSTRUCT_MASTER_KEY: envFields.masterKey,
    KONSTRUCT_PREVIOUS_MASTER_KEYS: z.string().default(''),
    /** First platform operator, created on start when no platform operator exists yet. */
    KONSTRUCT_ADMIN_EMAIL: z.string().email().optional(),
    KONSTRUCT_ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
    /** channel-bridge as browsers reach it: install links point there. */
    BRIDGE_PUBLIC_URL: z.string().url().default(DEFAULT_BRIDGE_PUBLIC_URL),
    /** Where channel-bridge keeps the rate-limit counters that `rateLimitCounters` shows. */
    REDIS_URL: envFields.redisUrl,
    REDIS_KEY_PREFIX: z.string().default('konstruct:'),
  })
  .transform((e) => ({
    ...subgraphConfigFrom(e),
    jwtSecret: e.JWT_SECRET,
    masterKey: e.KONSTRUCT_MASTER_KEY,
    previousMasterKeys: e.KONSTRUCT_PREVIOUS_MASTER_KEYS.split(',').filter(Boolean),
    bridgePublicUrl: e.BRIDGE_PUBLIC_URL.replace(/\/+$/, ''),
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    firstAdmin:
      e.KONSTRUCT_ADMIN_EMAIL && e.KONSTRUCT_ADMIN_PASSWORD ? { email: e.KONSTRUCT_ADMIN_EMAIL, password: e.KONSTRUCT_ADMIN_PASSWORD } : null,
  }));

export type TenancyConfig = z.output<typeof schema>;

/** The only reader of process.env in the tenancy subgraph. */
export function loadEnv(source: Record<string, string | undefined> = process.env): TenancyConfig {
  return parseEnv(schema, source);
}
