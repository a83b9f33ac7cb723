import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import pg from 'pg';
import { createLogger, encryptSecret, keyringFrom, secretContext, secretHint } from '@konstruct/core';
import { Connection } from 'rabbitmq-client';
import { connectBus, deleteTopology, type Bus } from '@konstruct/bus';
import { startBridge, loadEnv as bridgeEnv, type Bridge } from '../../channel-bridge/src/index.ts';
import { startRunner, loadEnv as runnerEnv, type Runner } from '../../agent-runner/src/index.ts';
import {
  startFakeAnthropic,
  startFakeOpenAI,
  startFakeSlack,
  startFakeWhatsApp,
  type FakeAnthropic,
  type FakeOpenAI,
  type FakeSlack,
  type FakeWhatsApp,
} from '../fakes/index.ts';

const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

export interface SlackTenant {
  tenantId: string;
  agentId: string;
  connectionId: string;
  teamId: string;
  botToken: string;
}

/** Inserts a tenant with an employee and a Slack connection, as the owner. */
export async function seedSlackTenant(
  databaseUrl: string,
  masterKey: string,
  opts: {
    teamId?: string;
    agentName?: string;
    persona?: string;
    systemPrompt?: string;
    /** A tenant's own Slack app ("bring your own app"): its api_app_id and signing secret. */
    appId?: string;
    signingSecret?: string;
    botUserId?: string;
  } = {},
): Promise<SlackTenant> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const tenantId = randomUUID();
  const agentId = randomUUID();
  const connectionId = randomUUID();
  const teamId = opts.teamId ?? `T${randomBytes(5).toString('hex').toUpperCase()}`;
  const botToken = `xoxb-${randomBytes(8).toString('hex')}`;
  try {
    await client.query('INSERT INTO tenants (id, slug, name) VALUES ($1, $2, $3)', [tenantId, `t-${tenantId}`, 'Acme']);
    await client.query(
      `INSERT INTO agents (id, tenant_id, name, role, persona, system_prompt, updated_at) VALUES ($1, $2, $3, $4, $5, $6, now())`,
      [agentId, tenantId, opts.agentName ?? 'Ava', 'front desk', opts.persona ?? 'Cheerful and brief.', opts.systemPrompt ?? 'Answer in one sentence.'],
    );
    await client.query(
      `INSERT INTO channel_connections (id, tenant_id, kind, external_id, app_id, agent_id, bot_user_id, bot_token_enc, bot_token_hint,
                                        signing_secret_enc, signing_secret_hint, updated_at)
       VALUES ($1, $2, 'slack', $3, $4, $5, $6, $7, $8, $9, $10, now())`,
      [
        connectionId,
        tenantId,
        teamId,
        opts.appId ?? '',
        agentId,
        opts.botUserId ?? 'U0BOTUSER',
        encryptSecret(keyringFrom(masterKey), botToken, secretContext('channel_connections', 'bot_token', connectionId)),
        secretHint(botToken),
        opts.signingSecret
          ? encryptSecret(keyringFrom(masterKey), opts.signingSecret, secretContext('channel_connections', 'signing_secret', connectionId))
          : null,
        opts.signingSecret ? secretHint(opts.signingSecret) : null,
      ],
    );
  } finally {
    await client.end();
  }
  return { tenantId, agentId, connectionId, teamId, botToken };
}

/** A port nothing listens on right now (the OS picks it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Platform {
  bridge: Bridge;
  runner: Runner;
  openai: FakeOpenAI;
  slack: FakeSlack;
  bus: Bus;
  prefix: string;
  /** Redis key prefix of this platform's bridge and runner (live events, dedup). */
  redisKeyPrefix: string;
  signingSecret: string;
  masterKey: string;
  /** With `whatsapp` enabled: the fake Graph API and the secrets the bridge was started with. */
  whatsapp?: FakeWhatsApp;
  whatsappAppSecret?: string;
  whatsappVerifyToken?: string;
  /** With `anthropic` enabled: the fake Anthropic API, second in the runner's default model group. */
  anthropic?: FakeAnthropic;
  close(): Promise<void>;
}

/**
 * channel-bridge and agent-runner in this process, on an isolated bus topology, against the
 * shared database, real Redis and RabbitMQ, and fake OpenAI / Slack servers.
 */
export async function startPlatform(
  databaseUrl: string,
  opts: {
    runnerConcurrency?: number;
    logLevel?: string;
    /** Enables the Slack OAuth install routes, with the fake Slack's authorize page and client credentials. */
    slackInstall?: boolean;
    /**
     * Starts a fake Graph API and configures the bridge's WhatsApp channel against it. The pair
     * interval (Meta: 6 s) and the sending grace period are shortened here so tests stay quick.
     */
    whatsapp?: boolean | { pairIntervalMs?: number; sendingGraceMs?: number; enforcePairInterval?: boolean };
    /** Extra bridge environment, e.g. Slack outbound pacing (SLACK_CHANNEL_INTERVAL_MS) shortened for a test. */
    bridgeEnv?: Record<string, string>;
    /**
     * Starts a fake Anthropic API and makes the runner's default group
     * `openai:gpt-4o-mini` → `anthropic:claude-3-5-haiku-latest` (fallback on failure).
     */
    anthropic?: boolean;
    /** Extra runner environment, e.g. LLM_MAX_RETRIES or LLM_TIMEOUT_MS for a fault test. */
    runnerEnv?: Record<string, string>;
  } = {},
): Promise<Platform> {
  const prefix = `test-${randomBytes(4).toString('hex')}.`;
  const signingSecret = randomBytes(16).toString('hex');
  const masterKey = randomBytes(32).toString('base64');
  const [openai, slack, anthropic] = await Promise.all([
    startFakeOpenAI(),
    startFakeSlack(),
    opts.anthropic ? startFakeAnthropic() : undefined,
  ]);
  const anthropicEnv: Record<string, string> = anthropic
    ? {
        ANTHROPIC_BASE_URL: anthropic.url,
        ANTHROPIC_API_KEY: 'sk-ant-test',
        LLM_MODEL_GROUPS: JSON.stringify({ default: ['openai:gpt-4o-mini', 'anthropic:claude-3-5-haiku-latest'] }),
      }
    : {};
  const logLevel = opts.logLevel ?? 'silent';
  const redisKeyPrefix = `konstruct-${prefix}`;
  const common = {
    NODE_ENV: 'test',
    LOG_LEVEL: logLevel,
    DATABASE_URL: databaseUrl,
    BUS_PREFIX: prefix,
    KONSTRUCT_MASTER_KEY: masterKey,
    REDIS_KEY_PREFIX: redisKeyPrefix,
    PORT: '0',
  };
  const runner = await startRunner(
    runnerEnv({
      ...common,
      OPENAI_BASE_URL: `${openai.url}/v1`,
      OPENAI_API_KEY: 'sk-test',
      LLM_TIMEOUT_MS: '5000',
      RUNNER_CONCURRENCY: String(opts.runnerConcurrency ?? 16),
      ...anthropicEnv,
      ...opts.runnerEnv,
    }),
    createLogger('agent-runner', logLevel as never),
  );
  // Slack redirects the browser back to the bridge's public URL, so the port must be known up front.
  const install: Record<string, string> = {};
  if (opts.slackInstall) {
    const port = await freePort();
    Object.assign(install, {
      PORT: String(port),
      BRIDGE_PUBLIC_URL: `http://127.0.0.1:${port}`,
      SLACK_CLIENT_ID: 'fake-client-id',
      SLACK_CLIENT_SECRET: 'fake-client-secret',
      SLACK_AUTHORIZE_URL: `${slack.url}/oauth/v2/authorize`,
    });
  }
  const waOpts = opts.whatsapp === true ? {} : opts.whatsapp || null;
  const whatsapp = waOpts
    ? await startFakeWhatsApp({ pairIntervalMs: waOpts.enforcePairInterval ? (waOpts.pairIntervalMs ?? 300) : undefined })
    : undefined;
  const whatsappAppSecret = waOpts ? randomBytes(16).toString('hex') : undefined;
  const whatsappVerifyToken = waOpts ? randomBytes(8).toString('hex') : undefined;
  const waEnv: Record<string, string> =
    whatsapp && waOpts
      ? {
          WHATSAPP_APP_SECRET: whatsappAppSecret!,
          WHATSAPP_VERIFY_TOKEN: whatsappVerifyToken!,
          WHATSAPP_API_URL: whatsapp.apiUrl,
          WHATSAPP_PAIR_INTERVAL_MS: String(waOpts.pairIntervalMs ?? 300),
          WHATSAPP_SENDING_GRACE_MS: String(waOpts.sendingGraceMs ?? 2_000),
        }
      : {};
  const bridge = await startBridge(
    bridgeEnv({ ...common, SLACK_SIGNING_SECRET: signingSecret, SLACK_API_URL: `${slack.url}/api/`, ...install, ...waEnv, ...opts.bridgeEnv }),
    createLogger('channel-bridge', logLevel as never),
  );
  const bus = await connectBus({ url: AMQP_URL, prefix });
  return {
    bridge,
    runner,
    openai,
    slack,
    bus,
    prefix,
    redisKeyPrefix,
    signingSecret,
    masterKey,
    whatsapp,
    whatsappAppSecret,
    whatsappVerifyToken,
    anthropic,
    async close() {
      await bridge.close();
      await runner.close();
      await bus.close();
      const conn = new Connection(AMQP_URL);
      await deleteTopology(conn, prefix).catch(() => undefined);
      await conn.close();
      await Promise.all([openai.close(), slack.close(), whatsapp?.close(), anthropic?.close()]);
    },
  };
}
