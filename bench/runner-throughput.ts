/**
 * agent-runner throughput with the fake LLM: a backlog of N messages (each its own
 * conversation) is put on the runner's queue at once, and the time until every reply is on the
 * outbound queue gives messages per second. Beside it, in the same run, the ceiling that the
 * embedded database puts on everything: RLS transactions per second (one query each) from as
 * many concurrent connections as the runner uses. The ratio says how many such transactions'
 * worth of database time one message costs.
 */
import { randomUUID } from 'node:crypto';
import { connectBus } from '@konstruct/bus';
import { createDb, tenantScope } from '@konstruct/db';
import type { KonstructMessageV1Input } from '@konstruct/core';
import { startFakeOpenAI } from '../test/fakes/index.ts';
import { freePort, startProcess, stopProcess, waitHealthy } from './lib/procs.ts';
import { machine } from './lib/machine.ts';
import { AMQP_URL, startBenchStack } from './lib/stack.ts';


export interface RunnerBenchOptions {
  messages: number;
  concurrency: number;
  /** Seconds of RLS transactions for the ceiling. */
  floorSeconds: number;
}

async function rlsCeiling(databaseUrl: string, tenantId: string, connections: number, seconds: number) {
  const db = createDb({ url: databaseUrl, poolSize: connections });
  const scope = tenantScope(tenantId);
  let done = 0;
  const until = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < until) {
        await db.withTenant(scope, (tx) => tx.agent.findFirst({ select: { id: true } }));
        done++;
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  await db.close();
  return done / elapsed;
}

export async function runnerThroughput(opts: RunnerBenchOptions) {
  const stack = await startBenchStack('runner');
  const { databaseUrl, prefix, tenant } = stack;
  const openai = await startFakeOpenAI();
  const runnerPort = await freePort();
  const runner = startProcess('agent-runner/src/main.ts', {
    ...stack.env,
    PORT: String(runnerPort),
    OPENAI_BASE_URL: `${openai.url}/v1`,
    OPENAI_API_KEY: 'sk-bench',
    RUNNER_CONCURRENCY: String(opts.concurrency),
  });
  const bus = await connectBus({ url: AMQP_URL, prefix });
  try {
    await waitHealthy(`http://127.0.0.1:${runnerPort}`);
    let replies = 0;
    let lastReply = 0;
    const consumer = await bus.consume(
      'bridgeOutbound',
      () => {
        replies++;
        lastReply = performance.now();
        return 'ack';
      },
      { prefetch: 500, concurrency: 50 },
    );
    const message = (i: number, batch: string): KonstructMessageV1Input => {
      const ts = `${1_750_000_000 + i}.000${batch}`;
      return {
        v: 1,
        id: randomUUID(),
        tenantId: tenant.tenantId,
        channel: { kind: 'slack', connectionId: tenant.connectionId, address: 'C0RUNNER' },
        conversation: { ref: `slack:${tenant.teamId}:C0RUNNER:${ts}` },
        externalId: `C0RUNNER:${ts}`,
        sender: { externalId: 'U0BENCH' },
        text: `What are your opening hours? (${i})`,
        attachments: [],
        thread: { replyTo: ts, inThread: false },
        receivedAt: new Date().toISOString(),
      };
    };
    const runBatch = async (count: number, batch: string) => {
      const before = replies;
      const start = performance.now();
      await Promise.all(
        Array.from({ length: count }, (_, i) => {
          const m = message(i, batch);
          return bus.publish('inbound', 'inbound.slack', m, { messageId: m.id });
        }),
      );
      const published = performance.now();
      const deadline = Date.now() + 600_000;
      while (replies - before < count) {
        if (Date.now() > deadline) throw new Error(`only ${replies - before} of ${count} replies`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return { count, publishSeconds: (published - start) / 1000, seconds: (lastReply - start) / 1000 };
    };
    // Warm-up: JIT, pools and caches.
    await runBatch(100, '101');
    const run = await runBatch(opts.messages, '202');
    await consumer.close();
    const ceiling = await rlsCeiling(databaseUrl, tenant.tenantId, Math.min(20, opts.concurrency), opts.floorSeconds);
    return { ...run, rate: run.count / run.seconds, ceiling, concurrency: opts.concurrency, llmRequests: openai.chatRequests().length };
  } finally {
    await bus.close();
    await stopProcess(runner);
    await openai.close();
    await stack.stop();
  }
}

export function runnerReport(r: Awaited<ReturnType<typeof runnerThroughput>>): string {
  return `## Runner throughput with the fake LLM

Run ${new Date().toISOString()} on ${machine()}.

A backlog of ${r.count} messages, each its own conversation, is published to the runner's
queue at once (after 100 warm-up messages); the runner (its own process, RUNNER_CONCURRENCY=${r.concurrency})
takes each through the whole turn — conversation and message, window and recall, tools,
budget reservation and settlement, the fake OpenAI call, the reply with its usage and audit
events — until the reply is on the outbound queue. The embedded database (PGlite, its own
process) runs one transaction at a time for every connection; its ceiling was measured in
the same run with RLS transactions of one query each from ${Math.min(20, r.concurrency)} concurrent connections.

| messages | published in | all replies after | messages/s | RLS transactions/s (ceiling) | ceiling / messages/s |
|---|---|---|---|---|---|
| ${r.count} | ${r.publishSeconds.toFixed(2)} s | ${r.seconds.toFixed(2)} s | **${r.rate.toFixed(1)}** | ${r.ceiling.toFixed(0)} | **${(r.ceiling / r.rate).toFixed(1)}** |

The last column is how many one-query RLS transactions' worth of database time a message
takes, at the most (the runner's own CPU on the same 2 cores counts against it too).
`;
}
