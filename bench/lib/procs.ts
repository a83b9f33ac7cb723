import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts a TypeScript entry point as its own Node process, as `npm start` does. */
export function startProcess(entry: string, env: Record<string, string>): ChildProcess {
  const profile = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`, '--import', 'tsx', '--import', fileURLToPath(new URL('./profile-exit.ts', import.meta.url))]
    : ['--import', 'tsx'];
  const child = spawn(process.execPath, [...profile, entry], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return child;
}

export async function firstJsonLine<T>(child: ChildProcess): Promise<T> {
  const rl = createInterface({ input: child.stdout! });
  for await (const line of rl) {
    try {
      return JSON.parse(line) as T;
    } catch {
      /* not ours */
    }
  }
  throw new Error('process ended before printing its address');
}

export async function waitHealthy(url: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      if ((await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) })).ok) return;
    } catch {
      /* starting */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not become healthy`);
}

/** SIGTERM, then SIGKILL after a grace period (longer when the process must write a CPU profile). */
export async function stopProcess(child: ChildProcess, graceMs = process.env.BENCH_CPU_PROF ? 60_000 : 10_000): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      console.error(`process ${child.pid} (${child.spawnargs.at(-1)}) did not exit within ${graceMs} ms of SIGTERM; killing it`);
      child.kill('SIGKILL');
    }, graceMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
