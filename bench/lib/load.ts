import { summarize } from './stats.ts';

export interface ClosedLoopOptions {
  url: string;
  body: string;
  /** Called before every request, so signed headers can be renewed while the load runs. */
  headers: () => Record<string, string>;
  connections: number;
  seconds: number;
  /** Returns a reason when a 200 response is not the expected answer. */
  check: (body: unknown) => string | null;
}

export interface ClosedLoopResult {
  connections: number;
  completed: number;
  errors: number;
  firstError: string | null;
  elapsedSeconds: number;
  rps: number;
  latency: ReturnType<typeof summarize>;
}

/**
 * Closed loop: each of `connections` workers sends a POST, reads and checks the whole answer,
 * and sends the next, until `seconds` have passed. Node's fetch (undici) keeps one connection
 * per busy worker alive. Latency is from send to the last byte of the body.
 */
export async function closedLoop(opts: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | null = null;
  const fail = (why: string) => {
    errors++;
    firstError ??= why;
  };
  const start = performance.now();
  const until = start + opts.seconds * 1000;
  const worker = async () => {
    while (performance.now() < until) {
      const t0 = performance.now();
      try {
        const res = await fetch(opts.url, { method: 'POST', headers: opts.headers(), body: opts.body });
        const text = await res.text();
        const t1 = performance.now();
        if (res.status !== 200) {
          fail(`HTTP ${res.status}: ${text.slice(0, 300)}`);
          continue;
        }
        const why = opts.check(JSON.parse(text));
        if (why) fail(`${why}: ${text.slice(0, 300)}`);
        else latencies.push(t1 - t0);
      } catch (e) {
        fail(String(e));
      }
    }
  };
  await Promise.all(Array.from({ length: opts.connections }, worker));
  const elapsedSeconds = (performance.now() - start) / 1000;
  return {
    connections: opts.connections,
    completed: latencies.length,
    errors,
    firstError,
    elapsedSeconds,
    rps: latencies.length / elapsedSeconds,
    latency: summarize(latencies),
  };
}
