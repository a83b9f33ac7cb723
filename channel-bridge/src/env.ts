import { z } from 'zod';
import { envFields, parseEnv } from '@konstruct/core';

const schema = z
  .object({
    NODE_ENV: envFields.nodeEnv,
    LOG_LEVEL: envFields.logLevel,
    PORT: envFields.port(3000),
    HOST: z.string().default('127.0.0.1'),
    DATABASE_URL: envFields.databaseUrl,
    REDIS_URL: envFields.redisUrl,
    AMQP_URL: envFields.amqpUrl,
    BUS_PREFIX: z.string().regex(/^[a-z0-9.-]*$/).default(''),
    REDIS_KEY_PREFIX: z.string().default('konstruct:'),
    KONSTRUCT_MASTER_KEY: envFields.masterKey,
    KONSTRUCT_PREVIOUS_MASTER_KEYS: z.string().default(''),
    SLACK_SIGNING_SECRET: z.string().min(8),
    SLACK_API_URL: z.string().url().default('https://slack.com/api/'),
    SLACK_CLIENT_ID: z.string().optional(),
    SLACK_CLIENT_SECRET: z.string().optional(),
  })
  .transform((e) => ({
    nodeEnv: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    amqpUrl: e.AMQP_URL,
    busPrefix: e.BUS_PREFIX,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    masterKey: e.KONSTRUCT_MASTER_KEY,
    previousMasterKeys: e.KONSTRUCT_PREVIOUS_MASTER_KEYS.split(',').filter(Boolean),
    slack: {
      signingSecret: e.SLACK_SIGNING_SECRET,
      apiUrl: e.SLACK_API_URL.endsWith('/') ? e.SLACK_API_URL : `${e.SLACK_API_URL}/`,
      clientId: e.SLACK_CLIENT_ID,
      clientSecret: e.SLACK_CLIENT_SECRET,
    },
  }));

export type BridgeConfig = z.output<typeof schema>;

/** The only reader of process.env in channel-bridge. */
export function loadEnv(source: Record<string, string | undefined> = process.env): BridgeConfig {
  return parseEnv(schema, source);
}
