/**
 * `npm run bench`: runs the benchmarks and rewrites their sections in bench/RESULTS.md.
 * BENCH_ONLY=webhook|ack|runner|gateway|memory runs one of them. With BENCH_CPU_PROF=dir (every child process
 * writes a CPU profile there) the numbers are printed but not written: profiling slows them.
 */
import { z } from 'zod';
import { parseEnv } from '@konstruct/core';
import { report, webhookToLlm } from './webhook-to-llm.ts';
import { gatewayBench, gatewayReport } from './gateway.ts';
import { ackReport, webhookAck } from './webhook-ack.ts';
import { runnerReport, runnerThroughput } from './runner-throughput.ts';
import { memoryRecallBench, memoryRecallReport } from './memory-recall.ts';
import { writeSection } from './lib/results.ts';

const positiveList = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v) => v.split(',').map(Number))
    .refine((v) => v.length > 0 && v.every((n) => Number.isFinite(n) && n > 0), 'comma-separated positive numbers');

const env = parseEnv(
  z.object({
    BENCH_ONLY: z.preprocess((v) => (v === '' ? undefined : v), z.enum(['webhook', 'ack', 'runner', 'gateway', 'memory']).optional()),
    BENCH_RATES: positiveList('20,200'),
    BENCH_SECONDS: z.coerce.number().positive().default(30),
    BENCH_ACK_RATES: positiveList('300'),
    BENCH_ACK_SECONDS: z.coerce.number().positive().default(20),
    BENCH_RUNNER_MESSAGES: z.coerce.number().int().min(100).default(2000),
    BENCH_RUNNER_CONCURRENCY: z.coerce.number().int().min(1).default(32),
    BENCH_FLOOR_SAMPLES: z.coerce.number().int().positive().default(1000),
    /** Concurrent connections; each level runs every target; the first is the headline. */
    BENCH_GATEWAY_CONNECTIONS: positiveList('32,1').refine((v) => v.every(Number.isInteger), 'whole numbers'),
    BENCH_GATEWAY_SECONDS: z.coerce.number().positive().default(5),
    BENCH_GATEWAY_ROUNDS: z.coerce.number().int().min(1).max(20).default(3),
    BENCH_GATEWAY_WARMUP_SECONDS: z.coerce.number().positive().default(3),
    BENCH_GATEWAY_AGENTS: z.coerce.number().int().min(1).max(100).default(20),
    /** The gateway benchmark against this Postgres (with pgvector; migrated first) instead of the embedded one. */
    BENCH_DATABASE_URL: z.string().url().optional(),
    BENCH_CPU_PROF: z.string().optional(),
    /** Memory recall: small tenants, memories each, the large tenant's big agent, queries per small tenant / per large agent. */
    BENCH_MEMORY_TENANTS: z.coerce.number().int().min(1).default(100),
    BENCH_MEMORY_ITEMS: z.coerce.number().int().min(10).default(1000),
    BENCH_MEMORY_LARGE: z.coerce.number().int().min(1000).default(100_000),
    BENCH_MEMORY_QUERIES: z.coerce.number().int().min(1).default(10),
    BENCH_MEMORY_LARGE_QUERIES: z.coerce.number().int().min(1).default(200),
  }),
  process.env,
);

function publish(id: string, md: string) {
  console.log(md);
  if (env.BENCH_CPU_PROF) {
    console.log(`bench/RESULTS.md not updated: CPU profiles (in ${env.BENCH_CPU_PROF}) distort the timings`);
    return;
  }
  writeSection(id, md);
  console.log(`bench/RESULTS.md updated (${id})`);
}

const runs = (name: 'webhook' | 'ack' | 'runner' | 'gateway' | 'memory') => env.BENCH_ONLY === undefined || env.BENCH_ONLY === name;

if (runs('ack')) {
  const result = await webhookAck({ rates: env.BENCH_ACK_RATES, seconds: env.BENCH_ACK_SECONDS, floorSamples: env.BENCH_FLOOR_SAMPLES });
  publish('webhook-ack', ackReport(result));
}

if (runs('runner')) {
  const result = await runnerThroughput({ messages: env.BENCH_RUNNER_MESSAGES, concurrency: env.BENCH_RUNNER_CONCURRENCY, floorSeconds: 10 });
  publish('runner-throughput', runnerReport(result));
}

if (runs('webhook')) {
  const result = await webhookToLlm({ rates: env.BENCH_RATES, seconds: env.BENCH_SECONDS, floorSamples: env.BENCH_FLOOR_SAMPLES });
  publish('webhook-to-llm', report(result));
}

if (runs('gateway')) {
  const result = await gatewayBench({
    connections: env.BENCH_GATEWAY_CONNECTIONS,
    seconds: env.BENCH_GATEWAY_SECONDS,
    rounds: env.BENCH_GATEWAY_ROUNDS,
    warmupSeconds: env.BENCH_GATEWAY_WARMUP_SECONDS,
    agents: env.BENCH_GATEWAY_AGENTS,
    databaseUrl: env.BENCH_DATABASE_URL,
  });
  publish('gateway', gatewayReport(result));
}

if (runs('memory')) {
  const result = await memoryRecallBench({
    tenants: env.BENCH_MEMORY_TENANTS,
    items: env.BENCH_MEMORY_ITEMS,
    large: env.BENCH_MEMORY_LARGE,
    queries: env.BENCH_MEMORY_QUERIES,
    largeQueries: env.BENCH_MEMORY_LARGE_QUERIES,
  });
  publish('memory-recall', memoryRecallReport(result));
}
