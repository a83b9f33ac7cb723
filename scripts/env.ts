import { z } from 'zod';
import { envFields, parseEnv } from '@konstruct/core';

const schema = z
  .object({
    NODE_ENV: envFields.nodeEnv,
    LOG_LEVEL: envFields.logLevel,
    DATABASE_URL: envFields.databaseUrl.optional(),
    DATA_DIR: z.string().default('.data'),
    EMBEDDED_PG_PORT: envFields.port(54329),
    REDIS_URL: envFields.redisUrl,
    AMQP_URL: envFields.amqpUrl,
    KONSTRUCT_MASTER_KEY: envFields.masterKey.optional(),
    /** Comma-separated older master keys, still needed to decrypt (and rotate away from). */
    KONSTRUCT_PREVIOUS_MASTER_KEYS: z.string().default(''),
    SLACK_SIGNING_SECRET: z.string().min(8).optional(),
    SLACK_BOT_TOKEN: z.string().optional(),
    SLACK_TEAM_ID: z.string().default('T0001ACME'),
    BRIDGE_URL: z.string().url().default('http://127.0.0.1:3000'),
    KONSTRUCT_ADMIN_PASSWORD: z.string().optional(),
    MEMORY_INDEX_THRESHOLD: z.coerce.number().int().min(1).default(5_000),
  })
  .transform((e) => ({
    nodeEnv: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    embeddedPort: e.EMBEDDED_PG_PORT,
    redisUrl: e.REDIS_URL,
    amqpUrl: e.AMQP_URL,
    masterKey: e.KONSTRUCT_MASTER_KEY,
    previousMasterKeys: e.KONSTRUCT_PREVIOUS_MASTER_KEYS.split(',').map((k) => k.trim()).filter(Boolean),
    slackSigningSecret: e.SLACK_SIGNING_SECRET,
    slackBotToken: e.SLACK_BOT_TOKEN,
    slackTeamId: e.SLACK_TEAM_ID,
    bridgeUrl: e.BRIDGE_URL,
    adminPasswordGiven: e.KONSTRUCT_ADMIN_PASSWORD !== undefined,
    memoryIndexThreshold: e.MEMORY_INDEX_THRESHOLD,
  }));

export type LauncherConfig = z.output<typeof schema>;

/** The only reader of process.env among the repository scripts. */
export function loadEnv(source: Record<string, string | undefined> = process.env): LauncherConfig {
  return parseEnv(schema, source);
}

/** Passed through to every child process unchanged (they validate it themselves). */
export function inheritedEnv(): Record<string, string | undefined> {
  return { ...process.env };
}
