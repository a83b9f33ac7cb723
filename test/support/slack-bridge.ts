import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { Connection } from 'rabbitmq-client';
import { createLogger, type KonstructMessageV1 } from '@konstruct/core';
import { connectBus, deleteTopology, type Bus, type ConsumerHandle } from '@konstruct/bus';
import { startBridge, loadEnv as bridgeEnv, type Bridge } from '../../channel-bridge/src/index.ts';
import { startFakeSlack, type FakeSlack } from '../fakes/index.ts';

const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

/** A port nothing listens on right now (the OS picks it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface SlackBridge {
  bridge: Bridge;
  slack: FakeSlack;
  bus: Bus;
  redis: Redis;
  redisKeyPrefix: string;
  signingSecret: string;
  masterKey: string;
  /** Every message channel-bridge published for the runner, in arrival order. */
  inbound: { message: KonstructMessageV1; tenantHeader: unknown }[];
  /** Resolves once at least `n` messages were published in total. */
  waitForInbound(n: number, timeoutMs?: number): Promise<KonstructMessageV1[]>;
  close(): Promise<void>;
}

/**
 * channel-bridge alone, on an isolated bus topology with a test consumer in the runner's
 * place: what the bridge publishes is exactly what the test sees. Real Postgres, Redis and
 * RabbitMQ; a fake Slack for the Web API and the OAuth authorize page.
 */
export async function startSlackBridge(databaseUrl: string, opts: { logLevel?: string } = {}): Promise<SlackBridge> {
  const prefix = `test-${randomBytes(4).toString('hex')}.`;
  const redisKeyPrefix = `konstruct-${prefix}`;
  const signingSecret = randomBytes(16).toString('hex');
  const masterKey = randomBytes(32).toString('base64');
  const slack = await startFakeSlack();
  const port = await freePort();
  const bridge = await startBridge(
    bridgeEnv({
      NODE_ENV: 'test',
      LOG_LEVEL: opts.logLevel ?? 'silent',
      DATABASE_URL: databaseUrl,
      BUS_PREFIX: prefix,
      KONSTRUCT_MASTER_KEY: masterKey,
      REDIS_KEY_PREFIX: redisKeyPrefix,
      PORT: String(port),
      SLACK_SIGNING_SECRET: signingSecret,
      SLACK_API_URL: `${slack.url}/api/`,
      SLACK_CLIENT_ID: 'fake-client-id',
      SLACK_CLIENT_SECRET: 'fake-client-secret',
      SLACK_AUTHORIZE_URL: `${slack.url}/oauth/v2/authorize`,
      BRIDGE_PUBLIC_URL: `http://127.0.0.1:${port}`,
    }),
    createLogger('channel-bridge', (opts.logLevel ?? 'silent') as never),
  );
  const bus = await connectBus({ url: AMQP_URL, prefix });
  const redis = new Redis('redis://127.0.0.1:6379');
  const inbound: SlackBridge['inbound'] = [];
  const waiters = new Set<() => void>();
  const consumer: ConsumerHandle = await bus.consume('runnerInbound', (msg) => {
    inbound.push({ message: msg.body as KonstructMessageV1, tenantHeader: msg.headers['x-konstruct-tenant'] });
    for (const wake of [...waiters]) wake();
    return 'ack';
  });

  function waitForInbound(n: number, timeoutMs = 5000): Promise<KonstructMessageV1[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (inbound.length < n) return false;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(inbound.map((i) => i.message));
        return true;
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out waiting for ${n} inbound message(s); got ${inbound.length}`));
      }, timeoutMs);
      if (!check()) waiters.add(check);
    });
  }

  return {
    bridge,
    slack,
    bus,
    redis,
    redisKeyPrefix,
    signingSecret,
    masterKey,
    inbound,
    waitForInbound,
    async close() {
      await bridge.close();
      await consumer.close();
      await bus.close();
      const keys = await redis.keys(`${redisKeyPrefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
      const conn = new Connection(AMQP_URL);
      await deleteTopology(conn, prefix).catch(() => undefined);
      await conn.close();
      await slack.close();
    },
  };
}
