import { z } from 'zod';
import { DEFAULT_BRIDGE_PUBLIC_URL, envFields, parseEnv } from '@konstruct/core';

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
    /** Slack's OAuth authorize page; tests point it at the fake. */
    SLACK_AUTHORIZE_URL: z.string().url().default('https://slack.com/oauth/v2/authorize'),
    // Outbound tuning; unset means the sender's defaults (outbound/slack-sender.ts).
    SLACK_CHANNEL_INTERVAL_MS: z.coerce.number().int().nonnegative().optional(),
    SLACK_REPLY_PART_LIMIT: z.coerce.number().int().min(64).max(40_000).optional(),
    SLACK_SEND_LEASE_MS: z.coerce.number().int().positive().optional(),
    SLACK_RETRY_BASE_MS: z.coerce.number().int().positive().optional(),
    SLACK_MAX_ATTEMPTS: z.coerce.number().int().min(1).optional(),
    /** This bridge as the internet reaches it: Slack's OAuth redirect_uri and install links. */
    BRIDGE_PUBLIC_URL: z.string().url().default(DEFAULT_BRIDGE_PUBLIC_URL),
    // Without an app secret the WhatsApp webhook refuses every POST (nothing can be verified).
    WHATSAPP_APP_SECRET: z.string().min(8).optional(),
    WHATSAPP_VERIFY_TOKEN: z.string().min(1).optional(),
    WHATSAPP_API_URL: z.string().url().default('https://graph.facebook.com/v21.0'),
    WHATSAPP_PAIR_INTERVAL_MS: z.coerce.number().int().nonnegative().default(6000),
    WHATSAPP_NUMBER_RATE_PER_SECOND: z.coerce.number().int().positive().default(80),
    WHATSAPP_SENDING_GRACE_MS: z.coerce.number().int().nonnegative().default(60_000),
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
      authorizeUrl: e.SLACK_AUTHORIZE_URL,
      outbound: {
        channelIntervalMs: e.SLACK_CHANNEL_INTERVAL_MS,
        partLimit: e.SLACK_REPLY_PART_LIMIT,
        claimLeaseMs: e.SLACK_SEND_LEASE_MS,
        backoffBaseMs: e.SLACK_RETRY_BASE_MS,
        maxAttempts: e.SLACK_MAX_ATTEMPTS,
      },
    },
    publicUrl: e.BRIDGE_PUBLIC_URL.replace(/\/+$/, ''),
    whatsapp: {
      appSecret: e.WHATSAPP_APP_SECRET,
      verifyToken: e.WHATSAPP_VERIFY_TOKEN,
      apiUrl: e.WHATSAPP_API_URL.replace(/\/+$/, ''),
      pairIntervalMs: e.WHATSAPP_PAIR_INTERVAL_MS,
      numberRatePerSecond: e.WHATSAPP_NUMBER_RATE_PER_SECOND,
      sendingGraceMs: e.WHATSAPP_SENDING_GRACE_MS,
    },
  }));

export type BridgeConfig = z.output<typeof schema>;

/** The only reader of process.env in channel-bridge. */
export function loadEnv(source: Record<string, string | undefined> = process.env): BridgeConfig {
  return parseEnv(schema, source);
}
