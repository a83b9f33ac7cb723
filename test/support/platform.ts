import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { createLogger, encryptSecret, keyringFrom, secretContext, secretHint } from '@konstruct/core';
import { Connection } from 'rabbitmq-client';
import { connectBus, deleteTopology, type Bus } from '@konstruct/bus';
import { startBridge, loadEnv as bridgeEnv, type Bridge } from '../../channel-bridge/src/index.ts';
import { startRunner, loadEnv as runnerEnv, type Runner } from '../../agent-runner/src/index.ts';
import { startFakeOpenAI, startFakeSlack, type FakeOpenAI, type FakeSlack } from '../fakes/index.ts';

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
  opts: { teamId?: string; agentName?: string; persona?: string; systemPrompt?: string } = {},
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
      `INSERT INTO channel_connections (id, tenant_id, kind, external_id, agent_id, bot_user_id, bot_token_enc, bot_token_hint, updated_at)
       VALUES ($1, $2, 'slack', $3, $4, 'U0BOTUSER', $5, $6, now())`,
      [
        connectionId,
        tenantId,
        teamId,
        agentId,
        encryptSecret(keyringFrom(masterKey), botToken, secretContext('channel_connections', 'bot_token', connectionId)),
        secretHint(botToken),
      ],
    );
  } finally {
    await client.end();
  }
  return { tenantId, agentId, connectionId, teamId, botToken };
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
  close(): Promise<void>;
}

/**
 * channel-bridge and agent-runner in this process, on an isolated bus topology, against the
 * shared database, real Redis and RabbitMQ, and fake OpenAI / Slack servers.
 */
export async function startPlatform(databaseUrl: string, opts: { runnerConcurrency?: number; logLevel?: string } = {}): Promise<Platform> {
  const prefix = `test-${randomBytes(4).toString('hex')}.`;
  const signingSecret = randomBytes(16).toString('hex');
  const masterKey = randomBytes(32).toString('base64');
  const [openai, slack] = await Promise.all([startFakeOpenAI(), startFakeSlack()]);
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
    }),
    createLogger('agent-runner', logLevel as never),
  );
  const bridge = await startBridge(
    bridgeEnv({ ...common, SLACK_SIGNING_SECRET: signingSecret, SLACK_API_URL: `${slack.url}/api/` }),
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
    async close() {
      await bridge.close();
      await runner.close();
      await bus.close();
      const conn = new Connection(AMQP_URL);
      await deleteTopology(conn, prefix).catch(() => undefined);
      await conn.close();
      await Promise.all([openai.close(), slack.close()]);
    },
  };
}
