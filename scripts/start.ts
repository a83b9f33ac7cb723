/**
 * `npm start`: the whole platform on one machine. Starts the embedded database (unless
 * DATABASE_URL is set), migrates, seeds a demo tenant on first run, starts every process and
 * prints where everything is. Ctrl-C stops it all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { EnvError, createLogger, keyringFrom, safeUrl } from '@konstruct/core';
import { migrate, startEmbeddedPostgres, type EmbeddedPostgres } from '@konstruct/db/admin';
import { inheritedEnv, loadEnv } from './env.ts';
import { loadDevSecrets } from './dev-secrets.ts';
import { hasPlatformOperator, seedDemo } from './seed.ts';
import { randomBytes } from 'node:crypto';
import { startMemoryIndexMaintenance } from '../agent-runner/src/memory/maintenance.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

const PROCESSES = [
  { name: 'tenancy', entry: 'subgraphs/tenancy/src/main.ts', port: 4001 },
  { name: 'agent', entry: 'subgraphs/agent/src/main.ts', port: 4002 },
  { name: 'memory', entry: 'subgraphs/memory/src/main.ts', port: 4003 },
  { name: 'billing', entry: 'subgraphs/billing/src/main.ts', port: 4004 },
  { name: 'audit', entry: 'subgraphs/audit/src/main.ts', port: 4005 },
  { name: 'gateway', entry: 'gateway/src/main.ts', port: 4000 },
  { name: 'bridge', entry: 'channel-bridge/src/main.ts', port: 3000 },
  { name: 'runner', entry: 'agent-runner/src/main.ts', port: 3001 },
] as const;

function fail(message: string): never {
  console.error(`\n✖ ${message}\n`);
  process.exit(1);
}

let config;
try {
  config = loadEnv();
} catch (e) {
  if (e instanceof EnvError) fail(e.message);
  throw e;
}

function reachable(url: string, fallbackPort: number): Promise<string | null> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: u.hostname, port: Number(u.port || fallbackPort), timeout: 2_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(null);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('timed out');
    });
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

const [redisDown, amqpDown] = await Promise.all([reachable(config.redisUrl, 6379), reachable(config.amqpUrl, 5672)]);
const problems: string[] = [];
if (redisDown)
  problems.push(
    `Redis is not reachable at ${safeUrl(config.redisUrl)} (${redisDown}).\n  Start it: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no\n  or set REDIS_URL.`,
  );
if (amqpDown)
  problems.push(
    `RabbitMQ is not reachable at ${safeUrl(config.amqpUrl)} (${amqpDown}).\n  Start it: rabbitmq-server -detached\n  or set AMQP_URL.`,
  );
if (problems.length) fail(problems.join('\n\n'));

const secrets: Record<string, string | undefined> =
  config.nodeEnv === 'production' ? {} : { ...loadDevSecrets(config.dataDir) };
if (config.masterKey) secrets.KONSTRUCT_MASTER_KEY = config.masterKey;
if (config.slackSigningSecret) secrets.SLACK_SIGNING_SECRET = config.slackSigningSecret;
// A real Meta app's secret and verify token win over the generated ones (webhooks must verify).
for (const name of ['WHATSAPP_APP_SECRET', 'WHATSAPP_VERIFY_TOKEN'] as const) {
  const given = inheritedEnv()[name];
  if (given) secrets[name] = given;
}
const masterKey = secrets.KONSTRUCT_MASTER_KEY ?? fail('KONSTRUCT_MASTER_KEY is required in production (32 bytes, base64).');

let embedded: EmbeddedPostgres | null = null;
let databaseUrl: string;
if (config.databaseUrl) {
  databaseUrl = config.databaseUrl;
} else {
  console.log(`• starting embedded Postgres (PGlite + pgvector), data in ${config.dataDir}/pg`);
  try {
    embedded = await startEmbeddedPostgres({ dataDir: `${config.dataDir}/pg`, port: config.embeddedPort });
  } catch (e) {
    fail(`could not start the embedded database on port ${config.embeddedPort}: ${(e as Error).message}`);
  }
  databaseUrl = embedded.url;
}

try {
  const result = await migrate(databaseUrl, `${root}/prisma/migrations`);
  console.log(`• database migrated (${result.applied.length} applied, ${result.alreadyApplied.length} already applied)`);
} catch (e) {
  fail(`migration failed: ${(e as Error).message}`);
}

const seed = await seedDemo(databaseUrl, keyringFrom(masterKey), {
  teamId: config.slackTeamId,
  botToken: config.slackBotToken,
});
// The first platform operator: from KONSTRUCT_ADMIN_EMAIL/PASSWORD when given (the tenancy
// subgraph creates it), else on a dev machine a generated password shown once, here.
let firstAdmin: { email: string; password: string } | null = null;
if (!config.adminPasswordGiven && config.nodeEnv !== 'production' && !(await hasPlatformOperator(databaseUrl))) {
  firstAdmin = { email: 'admin@konstruct.local', password: randomBytes(15).toString('base64url') };
  secrets.KONSTRUCT_ADMIN_EMAIL = firstAdmin.email;
  secrets.KONSTRUCT_ADMIN_PASSWORD = firstAdmin.password;
}

// Long-term memory indexes need the table owner, which only the launcher is on a dev machine.
const ownerPool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
const memoryMaintenance = startMemoryIndexMaintenance(ownerPool, {
  threshold: config.memoryIndexThreshold,
  intervalMs: 10 * 60_000,
  logger: createLogger('memory-maintain', config.logLevel),
});

mkdirSync(config.dataDir, { recursive: true });
writeFileSync(
  `${config.dataDir}/runtime.json`,
  JSON.stringify({ databaseUrl, bridgeUrl: config.bridgeUrl, tenantId: seed.tenantId, teamId: seed.teamId }, null, 2),
  { mode: 0o600 },
);

const children = new Map<string, ChildProcess>();
let stopping = false;

function prefixLines(name: string, stream: NodeJS.ReadableStream, out: NodeJS.WriteStream) {
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      out.write(`${name.padEnd(8)}│ ${formatLine(line)}\n`);
    }
  });
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
function formatLine(line: string): string {
  try {
    const { level, msg, time: _t, pid: _p, hostname: _h, service: _s, name: _n, ...rest } = JSON.parse(line);
    const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
    return `${LEVELS[level] ?? level} ${msg}${extra}`;
  } catch {
    return line;
  }
}

for (const p of PROCESSES) {
  const child = spawn(process.execPath, ['--import', 'tsx', p.entry], {
    cwd: root,
    env: { ...inheritedEnv(), ...secrets, PORT: String(p.port), DATABASE_URL: databaseUrl, NODE_ENV: config.nodeEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  prefixLines(p.name, child.stdout!, process.stdout);
  prefixLines(p.name, child.stderr!, process.stderr);
  child.on('exit', (code, signal) => {
    children.delete(p.name);
    if (!stopping) {
      console.error(`\n✖ ${p.name} exited (${signal ?? `code ${code}`}); stopping the platform.`);
      void shutdown(1);
    }
  });
  children.set(p.name, child);
}

async function waitHealthy(port: number, timeoutMs = 60_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && !stopping) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1_000) });
      if (res.ok) return true;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  console.log('\n• stopping…');
  await Promise.all(
    [...children.values()].map(
      (child) =>
        new Promise<void>((resolve) => {
          const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
          child.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  await memoryMaintenance?.stop().catch(() => undefined);
  await ownerPool?.end().catch(() => undefined);
  await embedded?.stop().catch(() => undefined);
  console.log('• stopped');
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

const healthy = await Promise.all(PROCESSES.map((p) => waitHealthy(p.port)));
if (stopping) await new Promise(() => undefined);
if (healthy.some((h) => !h)) {
  const down = PROCESSES.filter((_, i) => !healthy[i]).map((p) => p.name);
  console.error(`\n✖ did not become healthy: ${down.join(', ')}`);
  await shutdown(1);
}

console.log(`
Konstruct is running.

  channel-bridge   http://127.0.0.1:3000   POST /slack/events · GET /slack/install (needs SLACK_CLIENT_ID/SECRET)
  agent-runner     http://127.0.0.1:3001   /healthz /readyz
  GraphQL API      http://127.0.0.1:4000/graphql   (gateway over the five subgraphs)
  subgraphs        http://127.0.0.1:4001-4005  tenancy · agent · memory · billing · audit
  database         ${embedded ? `embedded, ${safeUrl(databaseUrl)}` : safeUrl(databaseUrl)}

Demo tenant "Demo Bakery" with the employee "Ava" is connected to Slack team ${seed.teamId}${seed.created ? ' (created now)' : ''}.
Talk to it:
  • from this machine:  npm run say -- "What are your opening hours on Saturday?"
  • from Slack: point your Slack app's Event Subscriptions at https://<public host>/slack/events,
    start with SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN and SLACK_TEAM_ID of your app (first run seeds them).
  • from WhatsApp: set the Meta app's webhook to https://<public host>/whatsapp/webhook (GET handshake
    and POST, field "messages"), start with WHATSAPP_APP_SECRET and WHATSAPP_VERIFY_TOKEN of the app
    (otherwise generated into ${config.dataDir}/dev-secrets.json), and connect a number with
    createChannelConnection (kind whatsapp, externalId = phone_number_id, the access token).
  • more workspaces: with SLACK_CLIENT_ID/SECRET and BRIDGE_PUBLIC_URL set, a tenant admin's
    createSlackInstallLink mutation returns an "Add to Slack" link (valid 10 minutes).
Answers need a model: set OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible server). Without one,
Ava replies that she is unavailable and the runner logs why.

${
  firstAdmin
    ? `Platform operator created (shown only now — keep it):
  email ${firstAdmin.email}   password ${firstAdmin.password}
  curl -s localhost:4000/graphql -H 'content-type: application/json' \\
    -d '{"query":"mutation{ login(email:\\"${firstAdmin.email}\\", password:\\"${firstAdmin.password}\\"){ ... on Session { token } } }"}'
`
    : ''
}
Ctrl-C stops everything.
`);
