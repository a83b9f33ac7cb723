/**
 * Webhook receipt → LLM request start, at a fixed rate, beside the floor measured in the same
 * run: a Redis round trip, a RabbitMQ publish → deliver, and an RLS transaction.
 *
 * Topology as in `npm start`: the embedded database, channel-bridge and agent-runner each in
 * their own process; this process sends signed Slack events and hosts the fake OpenAI and
 * Slack servers, so send and receive times come from one clock.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Connection } from 'rabbitmq-client';
import { connectBus, deleteTopology, type BusMessage } from '@konstruct/bus';
import { createDb, tenantScope } from '@konstruct/db';
import { startFakeOpenAI, startFakeSlack } from '../test/fakes/index.ts';
import { slackHeaders } from '../test/support/slack.ts';
import { summarize, ms } from './lib/stats.ts';
import { freePort, startProcess, stopProcess, waitHealthy } from './lib/procs.ts';
import { machine } from './lib/machine.ts';
import { AMQP_URL, REDIS_URL, startBenchStack } from './lib/stack.ts';
import { redisRoundTrips } from './lib/floor.ts';


export interface WebhookBenchOptions {
  /** Each rate is run in turn on the same processes, after the previous one has drained. */
  rates: number[];
  seconds: number;
  floorSamples: number;
}

export interface LoadResult {
  rate: number;
  seconds: number;
  sent: number;
  achievedRate: number;
  /** Messages that reached the model per second, first send to last model request. */
  processedRate: number;
  non200: number;
  llm: ReturnType<typeof summarize>;
  /** Replies posted to Slack per second, first send to last post (all of them, or those within 60 s after the last model request). */
  postedRate: number;
  posted: number;
}

async function measureFloor(databaseUrl: string, tenantId: string, samples: number) {
  const redisRtt = await redisRoundTrips(REDIS_URL, samples);

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

/**
 * The mentions are spread over this many channels, as a workspace's traffic is: Slack takes
 * about one message per second per channel, so into a single channel the replies would mostly
 * wait on the queue instead of being posted, and the run would not carry the outbound load.
 */
const CHANNELS = 100;
const channelOf = (i: number) => `C0BENCH${String(i % CHANNELS).padStart(3, '0')}`;

export async function webhookToLlm(opts: WebhookBenchOptions) {
  const stack = await startBenchStack('llm');
  const { databaseUrl, tenant } = stack;
  const signingSecret = randomBytes(16).toString('hex');
  const [openai, slack] = await Promise.all([startFakeOpenAI(), startFakeSlack()]);
  const [bridgePort, runnerPort] = await Promise.all([freePort(), freePort()]);
  const runner = startProcess('agent-runner/src/main.ts', {
    ...stack.env,
    PORT: String(runnerPort),
    OPENAI_BASE_URL: `${openai.url}/v1`,
    OPENAI_API_KEY: 'sk-bench',
  });
  const bridge = startProcess('channel-bridge/src/main.ts', {
    ...stack.env,
    PORT: String(bridgePort),
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
        event: { type: 'app_mention', user: 'U0BENCH', text: `<@U0BOTUSER> ${marker} opening hours?`, ts, channel: channelOf(i), event_ts: ts },
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
    await waitFor(() => slack.posts().length >= 50, 30_000);

    const loads: LoadResult[] = [];
    for (const [round, rate] of opts.rates.entries()) {
      const base = (round + 1) * 10_000_000;
      const llmBefore = openai.requests.length;
      const postsBefore = slack.posts().length;
      const total = Math.round(rate * opts.seconds);
      const sent = new Map<string, number>();
      const statuses: number[] = [];
      const inflight: Promise<void>[] = [];
      const interval = 1000 / rate;
      const start = performance.now();
      for (let i = 0; i < total; i++) {
        const due = start + i * interval;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        inflight.push(send(base + i, sent, statuses));
      }
      await Promise.all(inflight);
      const sendSeconds = (performance.now() - start) / 1000;
      await waitFor(() => openai.requests.length - llmBefore >= total, 300_000);

      const latencies: number[] = [];
      let last = start;
      for (const req of openai.requests.slice(llmBefore)) {
        const marker = /bench-(\d+)/.exec(req.rawBody)?.[0];
        const t0 = marker ? sent.get(marker) : undefined;
        if (t0 !== undefined) latencies.push(req.receivedAt - t0);
        last = Math.max(last, req.receivedAt);
      }
      // The replies too: the run carries the outbound path's load, and the next round starts after it.
      await waitFor(() => slack.posts().length - postsBefore >= total, 60_000).catch(() => undefined);
      const posts = slack.posts().slice(postsBefore);
      const lastPost = Math.max(...posts.map((x) => x.receivedAtEpochMs));
      const startEpoch = Date.now() - (performance.now() - start);
      loads.push({
        posted: posts.length,
        postedRate: posts.length ? posts.length / ((lastPost - startEpoch) / 1000) : 0,
        rate,
        seconds: opts.seconds,
        sent: total,
        achievedRate: total / sendSeconds,
        processedRate: total / ((last - start) / 1000),
        non200: statuses.filter((x) => x !== 200).length,
        llm: summarize(latencies),
      });
    }
    return { loads, floor };
  } finally {
    await Promise.all([stopProcess(bridge), stopProcess(runner)]);
    await Promise.all([openai.close(), slack.close()]);
    await stack.stop();
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
  const rows = r.loads
    .map(
      (l) =>
        `| ${l.rate} msg/s × ${l.seconds} s | ${l.sent} | ${l.achievedRate.toFixed(1)} | ${l.processedRate.toFixed(1)} | ${l.posted} | ${l.postedRate.toFixed(1)} | ${l.non200} | ${ms(l.llm.p50)} | ${ms(l.llm.p99)} | ${ms(l.llm.max)} | **${(l.llm.p50 / floorSum).toFixed(1)}×** |`,
    )
    .join('\n');
  return `## Webhook receipt → LLM request start

Run ${new Date().toISOString()} on ${machine()}.

A signed Slack \`app_mention\` is POSTed to channel-bridge at a fixed rate (open loop), spread
over ${CHANNELS} channels (Slack takes about one message per second per channel); the
time until the fake OpenAI server receives the runner's chat completion request for it is
measured on one clock. channel-bridge, agent-runner and the embedded database (PGlite,
in memory) each run in their own process, with real Redis and RabbitMQ, all on this machine;
50 warm-up messages are not counted. "processed" is messages reaching the model per second,
from the first send to the last model request; "posted" counts the replies that reached the
fake Slack (the next load starts once they have, or 60 s after the last model request).

| offered load | sent | sent/s | processed/s | replies posted | posted/s | non-200 | p50 | p99 | max | p50 / floor |
|---|---|---|---|---|---|---|---|---|---|---|
${rows}

Floor, measured in the same run (sequential, ${r.floor.redis.n} samples each):

| step | p50 | p99 |
|---|---|---|
| Redis round trip (PING) | ${ms(r.floor.redis.p50)} | ${ms(r.floor.redis.p99)} |
| RabbitMQ publish (confirmed) → deliver | ${ms(r.floor.rabbitmq.p50)} | ${ms(r.floor.rabbitmq.p99)} |
| RLS transaction (withTenant, one query) | ${ms(r.floor.rls.p50)} | ${ms(r.floor.rls.p99)} |
| **sum** | **${ms(floorSum)}** | |

Target for later work: p50 ≤ 2× the floor sum.
`;
}
