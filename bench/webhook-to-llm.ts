/**
 * Webhook receipt → LLM request start, at a fixed rate, beside the floor measured in the same
 * run: a Redis round trip, a RabbitMQ publish → deliver, and an RLS transaction.
 *
 * Topology as in `npm start`: the embedded database, channel-bridge and agent-runner each in
 * their own process; this process sends signed Slack events and hosts the fake OpenAI and
 * Slack servers, so send and receive times come from one clock.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Connection } from 'rabbitmq-client';
import { connectBus, deleteTopology, type BusMessage } from '@konstruct/bus';
import { createDb, tenantScope } from '@konstruct/db';
import { startFakeOpenAI, startFakeSlack } from '../test/fakes/index.ts';
import { seedSlackTenant } from '../test/support/platform.ts';
import { slackHeaders } from '../test/support/slack.ts';
import { summarize, ms } from './lib/stats.ts';
import { freePort, firstJsonLine, startProcess, stopProcess, waitHealthy } from './lib/procs.ts';
import { machine } from './lib/machine.ts';
import { writeSection } from './lib/results.ts';

const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
const REDIS_URL = 'redis://127.0.0.1:6379';

export interface WebhookBenchOptions {
  rate: number;
  seconds: number;
  floorSamples: number;
}

async function measureFloor(databaseUrl: string, tenantId: string, samples: number) {
  const redis = new Redis(REDIS_URL);
  const redisRtt: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    await redis.ping();
    redisRtt.push(performance.now() - t);
  }
  redis.disconnect();

  const prefix = `bench-floor-${randomBytes(3).toString('hex')}.`;
  const bus = await connectBus({ url: AMQP_URL, prefix });
  const pending = new Map<string, (t: number) => void>();
  const consumer = await bus.consume(
    'runnerInbound',
    (m: BusMessage): 'ack' => {
      pending.get(m.messageId)?.(performance.now());
      return 'ack';
    },
    { prefetch: 10, concurrency: 1 },
  );
  const mq: number[] = [];
  for (let i = 0; i < samples; i++) {
    const id = randomUUID();
    const delivered = new Promise<number>((resolve) => pending.set(id, resolve));
    const t = performance.now();
    await bus.publish('inbound', 'inbound.slack', { i }, { messageId: id });
    mq.push((await delivered) - t);
    pending.delete(id);
  }
  await consumer.close();
  await bus.close();
  const conn = new Connection(AMQP_URL);
  await deleteTopology(conn, prefix);
  await conn.close();

  const db = createDb({ url: databaseUrl, poolSize: 2 });
  const scope = tenantScope(tenantId);
  const rls: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    await db.withTenant(scope, (tx) => tx.agent.findFirst({ select: { id: true } }));
    rls.push(performance.now() - t);
  }
  await db.close();
  return { redis: summarize(redisRtt), rabbitmq: summarize(mq), rls: summarize(rls) };
}

export async function webhookToLlm(opts: WebhookBenchOptions) {
  const dbProc = startProcess('bench/embedded-db.ts', {});
  const { url: databaseUrl } = await firstJsonLine<{ url: string }>(dbProc);
  const masterKey = randomBytes(32).toString('base64');
  const signingSecret = randomBytes(16).toString('hex');
  const prefix = `bench-${randomBytes(3).toString('hex')}.`;
  const tenant = await seedSlackTenant(databaseUrl, masterKey);
  const [openai, slack] = await Promise.all([startFakeOpenAI(), startFakeSlack()]);
  const [bridgePort, runnerPort] = await Promise.all([freePort(), freePort()]);
  const common = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_URL: databaseUrl,
    AMQP_URL,
    REDIS_URL,
    BUS_PREFIX: prefix,
    KONSTRUCT_MASTER_KEY: masterKey,
  };
  const runner = startProcess('agent-runner/src/main.ts', {
    ...common,
    PORT: String(runnerPort),
    OPENAI_BASE_URL: `${openai.url}/v1`,
    OPENAI_API_KEY: 'sk-bench',
  });
  const bridge = startProcess('channel-bridge/src/main.ts', {
    ...common,
    PORT: String(bridgePort),
    REDIS_KEY_PREFIX: `konstruct-${prefix}`,
    SLACK_SIGNING_SECRET: signingSecret,
    SLACK_API_URL: `${slack.url}/api/`,
  });
  const bridgeUrl = `http://127.0.0.1:${bridgePort}`;
  try {
    await Promise.all([waitHealthy(bridgeUrl), waitHealthy(`http://127.0.0.1:${runnerPort}`)]);

    const floor = await measureFloor(databaseUrl, tenant.tenantId, opts.floorSamples);

    const send = async (i: number, sent: Map<string, number>, statuses: number[]) => {
      const ts = `${1_800_000_000 + i}.${String(i % 1_000_000).padStart(6, '0')}`;
      const marker = `bench-${i}`;
      const body = JSON.stringify({
        token: 'bench',
        team_id: tenant.teamId,
        api_app_id: 'A0KONSTRUCT',
        event: { type: 'app_mention', user: 'U0BENCH', text: `<@U0BOTUSER> ${marker} opening hours?`, ts, channel: 'C0BENCH', event_ts: ts },
        type: 'event_callback',
        event_id: `Ev${i}`,
        event_time: Math.floor(Date.now() / 1000),
        authorizations: [{ team_id: tenant.teamId, user_id: 'U0BOTUSER', is_bot: true }],
      });
      const headers = slackHeaders(body, signingSecret);
      sent.set(marker, performance.now());
      const res = await fetch(`${bridgeUrl}/slack/events`, { method: 'POST', headers, body });
      statuses.push(res.status);
      await res.arrayBuffer();
    };

    // Warm-up: first-use costs (JIT, pools, caches) are not what we measure.
    const warmSent = new Map<string, number>();
    await Promise.all(Array.from({ length: 50 }, (_, i) => send(1_000_000 + i, warmSent, [])));
    await waitFor(() => openai.chatRequests().length >= 50, 30_000);
    const llmBefore = openai.requests.length;

    const total = Math.round(opts.rate * opts.seconds);
    const sent = new Map<string, number>();
    const statuses: number[] = [];
    const inflight: Promise<void>[] = [];
    const interval = 1000 / opts.rate;
    const start = performance.now();
    for (let i = 0; i < total; i++) {
      const due = start + i * interval;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      inflight.push(send(i, sent, statuses));
    }
    await Promise.all(inflight);
    const sendSeconds = (performance.now() - start) / 1000;
    await waitFor(() => openai.requests.length - llmBefore >= total, 120_000);

    const latencies: number[] = [];
    for (const req of openai.requests.slice(llmBefore)) {
      const marker = /bench-(\d+)/.exec(req.rawBody)?.[0];
      const t0 = marker ? sent.get(marker) : undefined;
      if (t0 !== undefined) latencies.push(req.receivedAt - t0);
    }
    const result = {
      rate: opts.rate,
      seconds: opts.seconds,
      sent: total,
      achievedRate: total / sendSeconds,
      non200: statuses.filter((s) => s !== 200).length,
      llm: summarize(latencies),
      floor,
    };
    return result;
  } finally {
    await Promise.all([stopProcess(bridge), stopProcess(runner)]);
    await Promise.all([openai.close(), slack.close()]);
    const conn = new Connection(AMQP_URL);
    await deleteTopology(conn, prefix).catch(() => undefined);
    await conn.close();
    await stopProcess(dbProc);
  }
}

async function waitFor(cond: () => boolean, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out waiting for the platform to catch up');
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function report(r: Awaited<ReturnType<typeof webhookToLlm>>): string {
  const floorSum = r.floor.redis.p50 + r.floor.rabbitmq.p50 + r.floor.rls.p50;
  const ratio = r.llm.p50 / floorSum;
  return `## Webhook receipt → LLM request start

Run ${new Date().toISOString()} on ${machine()}.

A signed Slack \`app_mention\` is POSTed to channel-bridge at a fixed rate; the time until the
fake OpenAI server receives the runner's chat completion request for it is measured on one
clock. Bridge, runner and the embedded database (PGlite) each run in their own process, with
real Redis and RabbitMQ; 50 warm-up messages are not counted.

| load | sent | achieved rate | non-200 | p50 | p90 | p99 | max |
|---|---|---|---|---|---|---|---|
| ${r.rate} msg/s × ${r.seconds} s | ${r.sent} | ${r.achievedRate.toFixed(1)} msg/s | ${r.non200} | ${ms(r.llm.p50)} | ${ms(r.llm.p90)} | ${ms(r.llm.p99)} | ${ms(r.llm.max)} |

Floor, measured in the same run (sequential, ${r.floor.redis.n} samples each, p50 / p99):

| step | p50 | p99 |
|---|---|---|
| Redis round trip (PING) | ${ms(r.floor.redis.p50)} | ${ms(r.floor.redis.p99)} |
| RabbitMQ publish (confirmed) → deliver | ${ms(r.floor.rabbitmq.p50)} | ${ms(r.floor.rabbitmq.p99)} |
| RLS transaction (withTenant, one query) | ${ms(r.floor.rls.p50)} | ${ms(r.floor.rls.p99)} |
| **sum** | **${ms(floorSum)}** | |

**Ratio p50 / floor sum: ${ratio.toFixed(2)}×** (target for later work: ≤ 2×).
`;
}
