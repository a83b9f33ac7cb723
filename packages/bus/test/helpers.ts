import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { Connection } from 'rabbitmq-client';
import { onTestFinished } from 'vitest';
import { connectBus, deleteTopology, type Bus, type BusLogger, type BusOptions } from '../src/index.ts';

export const RABBITMQ_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export function randomPrefix(): string {
  return `test-${randomUUID().slice(0, 8)}.`;
}

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: object;
  msg: string | undefined;
}

export function captureLogger(): BusLogger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: LogEntry['level']) => (obj: object, msg?: string) => void entries.push({ level, obj, msg });
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A second, independent connection for raw publishes and queue inspection. */
export async function adminConnection(): Promise<Connection> {
  const conn = new Connection(RABBITMQ_URL);
  conn.on('error', () => {});
  await conn.onConnect(5_000);
  return conn;
}

/**
 * A bus on its own random prefix, plus an admin connection. Everything (bus, topology, admin) is
 * torn down when the current test finishes, pass or fail.
 */
export async function useBus(opts: Partial<BusOptions> = {}) {
  const prefix = randomPrefix();
  const logger = captureLogger();
  const admin = await adminConnection();
  let bus: Bus | undefined;
  onTestFinished(async () => {
    await bus?.close({ timeoutMs: 5_000 });
    await deleteTopology(admin, prefix);
    await admin.close();
  });
  bus = await connectBus({ url: RABBITMQ_URL, prefix, logger, ...opts });
  /** Ready (not unacked) messages in a queue of this topology. */
  const readyCount = async (queue: string) => (await admin.queueDeclare({ queue, passive: true })).messageCount;
  return { bus, prefix, admin, logger, readyCount };
}

export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  label: string,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}`);
    await sleep(20);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A port with nothing listening on it. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no port');
  await new Promise<void>((r) => server.close(() => r()));
  return addr.port;
}

/** Drains the DLQ until `n` dead letters have arrived (readDeadLetters consumes what it returns). */
export async function collectDeadLetters(bus: Bus, n: number, timeoutMs = 5_000) {
  const got: Awaited<ReturnType<Bus['readDeadLetters']>> = [];
  await waitFor(async () => {
    got.push(...(await bus.readDeadLetters(100)));
    return got.length >= n;
  }, `${n} dead letters`, timeoutMs);
  return got;
}
