import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Connection } from 'rabbitmq-client';
import { connectBus, deleteTopology, type Bus } from '@konstruct/bus';
import { startFakeOpenAI, startFakeSlack, type FakeOpenAI, type FakeSlack } from '../fakes/index.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

export type ServiceName = 'channel-bridge' | 'agent-runner';

const ENTRIES: Record<ServiceName, string> = {
  'channel-bridge': 'channel-bridge/src/main.ts',
  'agent-runner': 'agent-runner/src/main.ts',
};

/** A service running as its own Node process, the way `npm start` runs it. */
export interface ServiceProcess {
  name: ServiceName;
  child: ChildProcess;
  url: string;
  /** Its pino log lines (JSON), newest last, for assertions and failure messages. */
  logs: string[];
  /** Parsed log records whose `msg` matches. */
  logged(msg: string | RegExp): Array<Record<string, unknown>>;
  /** SIGKILL: no shutdown hooks, no acks, sockets dropped by the OS — a crash. Resolves once it is gone. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the graceful shutdown (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

const alive = new Set<ChildProcess>();
// A test that throws before its cleanup must not leave services consuming from the shared broker.
process.once('exit', () => {
  for (const child of alive) child.kill('SIGKILL');
});

/**
 * Spawns `node --import tsx <service>/src/main.ts` with `env` and resolves once it logged that it
 * started (with its URL; PORT=0 picks a free port). Rejects with its output if it exits first.
 */
export async function startServiceProcess(name: ServiceName, env: Record<string, string>, timeoutMs = 60_000): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRIES[name]], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  alive.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      alive.delete(child);
      resolve();
    }),
  );
  const logs: string[] = [];
  const keep = (line: string) => {
    logs.push(line);
    if (logs.length > 5_000) logs.splice(0, 1_000);
  };
  createInterface({ input: child.stderr! }).on('line', keep);

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${name} did not start within ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${err.message}\n--- ${name} output ---\n${logs.slice(-40).join('\n')}`));
    };
    createInterface({ input: child.stdout! }).on('line', (line) => {
      keep(line);
      try {
        const rec = JSON.parse(line) as { msg?: string; url?: string };
        if (rec.msg === `${name} started` && rec.url) {
          clearTimeout(timer);
          resolve(rec.url);
        }
      } catch {
        /* not a log record */
      }
    });
    child.once('exit', (code, signal) => fail(new Error(`${name} exited (${signal ?? `code ${code}`}) before it started`)));
  });

  const parsed = () =>
    logs.flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  return {
    name,
    child,
    url,
    logs,
    logged: (msg) => parsed().filter((r) => (typeof msg === 'string' ? r.msg === msg : msg.test(String(r.msg)))),
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const force = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(force);
    },
  };
}

export interface ProcessPlatform {
  openai: FakeOpenAI;
  slack: FakeSlack;
  /** A bus client of the test itself on the platform's topology (inspect, publish, read dead letters). */
  bus: Bus;
  prefix: string;
  redisKeyPrefix: string;
  signingSecret: string;
  masterKey: string;
  /** The services currently running (replaced by startBridge/startRunner). */
  bridge: ServiceProcess;
  runner: ServiceProcess;
  /** Starts another bridge process (e.g. after killing one) and makes it `bridge`. */
  startBridge(): Promise<ServiceProcess>;
  startRunner(): Promise<ServiceProcess>;
  close(): Promise<void>;
}

/**
 * channel-bridge and agent-runner as real child processes on an isolated bus topology and Redis
 * prefix, against the shared database, real Redis and RabbitMQ, and fake OpenAI / Slack servers
 * in the test process — for tests that crash a service on purpose.
 */
export async function startProcessPlatform(
  databaseUrl: string,
  opts: { bridgeEnv?: Record<string, string>; runnerEnv?: Record<string, string> } = {},
): Promise<ProcessPlatform> {
  const prefix = `test-${randomBytes(4).toString('hex')}.`;
  const signingSecret = randomBytes(16).toString('hex');
  const masterKey = randomBytes(32).toString('base64');
  const redisKeyPrefix = `konstruct-${prefix}`;
  const [openai, slack] = await Promise.all([startFakeOpenAI(), startFakeSlack()]);
  const common = {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    BUS_PREFIX: prefix,
    KONSTRUCT_MASTER_KEY: masterKey,
    REDIS_KEY_PREFIX: redisKeyPrefix,
    PORT: '0',
  };
  const bridgeEnv = { ...common, SLACK_SIGNING_SECRET: signingSecret, SLACK_API_URL: `${slack.url}/api/`, ...opts.bridgeEnv };
  const runnerEnv = {
    ...common,
    OPENAI_BASE_URL: `${openai.url}/v1`,
    OPENAI_API_KEY: 'sk-test',
    LLM_TIMEOUT_MS: '5000',
    RUNNER_CONCURRENCY: '4',
    ...opts.runnerEnv,
  };
  const started: ServiceProcess[] = [];
  const spawnTracked = async (name: ServiceName, env: Record<string, string>) => {
    const p = await startServiceProcess(name, env);
    started.push(p);
    return p;
  };
  // The runner first: it declares the topology the bridge's first publishes need.
  const [runner, bridge] = [await spawnTracked('agent-runner', runnerEnv), await spawnTracked('channel-bridge', bridgeEnv)];
  const bus = await connectBus({ url: AMQP_URL, prefix });

  const platform: ProcessPlatform = {
    openai,
    slack,
    bus,
    prefix,
    redisKeyPrefix,
    signingSecret,
    masterKey,
    bridge,
    runner,
    async startBridge() {
      platform.bridge = await spawnTracked('channel-bridge', bridgeEnv);
      return platform.bridge;
    },
    async startRunner() {
      platform.runner = await spawnTracked('agent-runner', runnerEnv);
      return platform.runner;
    },
    async close() {
      await Promise.all(started.map((p) => p.stop()));
      await bus.close();
      const conn = new Connection(AMQP_URL);
      await deleteTopology(conn, prefix).catch(() => undefined);
      await conn.close();
      await Promise.all([openai.close(), slack.close()]);
    },
  };
  return platform;
}
