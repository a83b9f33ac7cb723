/**
 * Webhook acknowledgement latency: how long channel-bridge takes to answer a signed Slack
 * event at a fixed rate (open loop), beside the floor of what an ack must wait for, measured
 * in the same run: Redis round trips (the dedup claim, the rate-limit decision and the thread
 * marker are one each) and a confirmed RabbitMQ publish.
 *
 * channel-bridge runs in its own process against the embedded database, real Redis and
 * RabbitMQ. No runner consumes: the ack path must not depend on the model, and a runner
 * saturating the same 2 cores would measure the machine, not the bridge. The published
 * messages stay on this run's own queue, deleted at the end.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import { Connection } from 'rabbitmq-client';
import { connectBus, deleteTopology, topologyNames } from '@konstruct/bus';
import { startFakeSlack } from '../test/fakes/index.ts';
import { slackHeaders } from '../test/support/slack.ts';
import { summarize, ms } from './lib/stats.ts';
import { freePort, startProcess, stopProcess, waitHealthy } from './lib/procs.ts';
import { machine } from './lib/machine.ts';
import { AMQP_URL, REDIS_URL, startBenchStack } from './lib/stack.ts';
import { redisRoundTrips } from './lib/floor.ts';


export interface AckBenchOptions {
  rates: number[];
  seconds: number;
  floorSamples: number;
}

async function measureFloor(samples: number) {
  const redisRtt = await redisRoundTrips(REDIS_URL, samples);
  const prefix = `bench-ackfloor-${randomBytes(3).toString('hex')}.`;
  const bus = await connectBus({ url: AMQP_URL, prefix });
  const confirm: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    await bus.publish('inbound', 'inbound.slack', { i }, { messageId: randomUUID() });
    confirm.push(performance.now() - t);
  }
  await bus.close();
  const conn = new Connection(AMQP_URL);
  await deleteTopology(conn, prefix);
  await conn.close();
  return { redis: summarize(redisRtt), publish: summarize(confirm) };
}

export async function webhookAck(opts: AckBenchOptions) {
  const stack = await startBenchStack('ack');
  const { prefix, tenant } = stack;
  const signingSecret = randomBytes(16).toString('hex');
  const slack = await startFakeSlack();
  const bridgePort = await freePort();
  const bridge = startProcess('channel-bridge/src/main.ts', {
    ...stack.env,
    PORT: String(bridgePort),
    SLACK_SIGNING_SECRET: signingSecret,
    SLACK_API_URL: `${slack.url}/api/`,
  });
  const bridgeUrl = `http://127.0.0.1:${bridgePort}`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  try {
    await waitHealthy(bridgeUrl);
    const floor = await measureFloor(opts.floorSamples);

    let seq = 0;
    const send = async (): Promise<{ status: number; ms: number }> => {
      const i = seq++;
      const ts = `${1_700_000_000 + i}.${String(i % 1_000_000).padStart(6, '0')}`;
      const body = JSON.stringify({
        token: 'bench',
        team_id: tenant.teamId,
        api_app_id: 'A0KONSTRUCT',
        event: { type: 'app_mention', user: 'U0BENCH', text: `<@U0BOTUSER> ack ${i}`, ts, channel: 'C0BENCH', event_ts: ts },
        type: 'event_callback',
        event_id: `EvAck${i}`,
        event_time: Math.floor(Date.now() / 1000),
      });
      const headers = slackHeaders(body, signingSecret);
      const t = performance.now();
      const status = await post(`${bridgeUrl}/slack/events`, headers, body, agent);
      return { status, ms: performance.now() - t };
    };

    // Warm-up: JIT, connection pools and the routing cache.
    for (let i = 0; i < 200; i++) await send();

    const loads = [];
    for (const rate of opts.rates) {
      const total = Math.round(rate * opts.seconds);
      const interval = 1000 / rate;
      const results: Promise<{ status: number; ms: number }>[] = [];
      const probe = new Connection(AMQP_URL);
      const queuedBefore = (await probe.queueDeclare({ queue: topologyNames(prefix).queues.runnerInbound, passive: true })).messageCount;
      await probe.close();
      const start = performance.now();
      let lateStarts = 0;
      for (let i = 0; i < total; i++) {
        const due = start + i * interval;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        else if (wait < -interval) lateStarts++;
        results.push(send());
      }
      const done = await Promise.all(results);
      const seconds = (performance.now() - start) / 1000;
      // A 200 must mean "on the queue": count what reached it, not what was answered.
      const conn = new Connection(AMQP_URL);
      const { messageCount } = await conn.queueDeclare({ queue: topologyNames(prefix).queues.runnerInbound, passive: true });
      await conn.close();
      loads.push({
        rate,
        seconds: opts.seconds,
        sent: total,
        achievedRate: total / seconds,
        lateStarts,
        non200: done.filter((d) => d.status !== 200).length,
        queued: messageCount - queuedBefore,
        ack: summarize(done.map((d) => d.ms)),
      });
    }
    return { loads, floor };
  } finally {
    agent.destroy();
    await stopProcess(bridge);
    await slack.close();
    await stack.stop();
  }
}

/** One POST on a keep-alive agent; resolves with the status once the whole answer is read. */
function post(url: string, headers: Record<string, string>, body: string, agent: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body) }, agent }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function ackReport(r: Awaited<ReturnType<typeof webhookAck>>): string {
  const floorSum = r.floor.redis.p50 * 3 + r.floor.publish.p50;
  const floorSum99 = r.floor.redis.p99 * 3 + r.floor.publish.p99;
  const rows = r.loads
    .map(
      (l) =>
        `| ${l.rate} req/s × ${l.seconds} s | ${l.sent} | ${l.achievedRate.toFixed(1)} | ${l.queued} | ${l.non200} | ${ms(l.ack.p50)} | ${ms(l.ack.p99)} | ${ms(l.ack.max)} | ${(l.ack.p50 / floorSum).toFixed(1)}× | ${(l.ack.p99 / floorSum).toFixed(1)}× | ${l.ack.p99 <= 50 ? 'met' : '**not met**'} |`,
    )
    .join('\n');
  return `## Webhook ack latency

Run ${new Date().toISOString()} on ${machine()}.

Signed Slack \`app_mention\` events are POSTed to channel-bridge at a fixed rate (open loop,
keep-alive connections); the time from sending the request to reading the whole answer is
measured at the client. Each event is new (its own ts), so every one goes through signature
check, routing (cached), the dedup claim, the rate-limit decision and the thread marker in
Redis, and a confirmed publish to RabbitMQ. channel-bridge and the embedded database run in their own processes;
no runner consumes during the run. 200 warm-up requests are not counted.

| offered load | sent | sent/s | on the queue | non-200 | p50 | p99 | max | p50 / floor | p99 / floor | goal p99 ≤ 50 ms |
|---|---|---|---|---|---|---|---|---|---|---|
${rows}

Floor, measured in the same run (sequential, ${r.floor.redis.n} samples each); an ack needs
three Redis round trips and one confirmed publish; both ratios divide by the floor's p50 sum:

| step | p50 | p99 |
|---|---|---|
| Redis round trip (PING) × 3 | ${ms(r.floor.redis.p50 * 3)} | ${ms(r.floor.redis.p99 * 3)} |
| RabbitMQ publish, confirmed | ${ms(r.floor.publish.p50)} | ${ms(r.floor.publish.p99)} |
| **sum** | **${ms(floorSum)}** | **${ms(floorSum99)}** |
`;
}
