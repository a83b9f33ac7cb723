/** `npm run bench`: runs the benchmarks and rewrites their sections in bench/RESULTS.md. */
import { z } from 'zod';
import { parseEnv } from '@konstruct/core';
import { report, webhookToLlm } from './webhook-to-llm.ts';
import { writeSection } from './lib/results.ts';

const env = parseEnv(
  z.object({
    BENCH_RATES: z
      .string()
      .default('20,200')
      .transform((v) => v.split(',').map(Number))
      .refine((v) => v.length > 0 && v.every((n) => n > 0), 'comma-separated positive rates'),
    BENCH_SECONDS: z.coerce.number().positive().default(30),
    BENCH_FLOOR_SAMPLES: z.coerce.number().int().positive().default(1000),
  }),
  process.env,
);

const result = await webhookToLlm({ rates: env.BENCH_RATES, seconds: env.BENCH_SECONDS, floorSamples: env.BENCH_FLOOR_SAMPLES });
const md = report(result);
console.log(md);
writeSection('webhook-to-llm', md);
console.log('bench/RESULTS.md updated');
