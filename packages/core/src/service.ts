import { EnvError } from './env.ts';
import { KonstructError } from './errors.ts';
import { createLogger, type Logger } from './logger.ts';

const HOW_TO_START: Record<string, string> = {
  Redis: 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
  RabbitMQ: 'rabbitmq-server -detached',
  Postgres: 'unset DATABASE_URL to use the embedded database, or start Postgres 17 with pgvector',
};

/** Strips credentials from a URL before it is shown to anyone. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = u.username ? '***' : '';
    u.password = '';
    return u.toString().replace('***@', '');
  } catch {
    return '(unparseable URL)';
  }
}

/** A dependency that cannot be reached, phrased for the person starting the platform. */
export function dependencyUnavailable(name: 'Redis' | 'RabbitMQ' | 'Postgres', url: string, cause: unknown): KonstructError {
  const reason = cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : String(cause);
  return new KonstructError(
    'DEPENDENCY_UNAVAILABLE',
    `${name} is not reachable at ${safeUrl(url)} (${reason}). Start it with: ${HOW_TO_START[name]}`,
    { dependency: name },
    { cause },
  );
}

/**
 * The shape of every process's main: env → logger → start → wait for a signal → close.
 * Configuration and unreachable dependencies end the process with a readable message,
 * not a stack trace.
 */
export async function runService<C extends { logLevel: string }>(
  name: string,
  loadEnv: () => C,
  start: (config: C, logger: Logger) => Promise<{ close(): Promise<void>; url?: string }>,
): Promise<void> {
  let config: C;
  try {
    config = loadEnv();
  } catch (e) {
    if (e instanceof EnvError) {
      console.error(`${name}: ${e.message}`);
      process.exit(78);
    }
    throw e;
  }
  const logger = createLogger(name, config.logLevel as never);
  let running: { close(): Promise<void>; url?: string };
  try {
    running = await start(config, logger);
  } catch (e) {
    if (e instanceof KonstructError && e.code === 'DEPENDENCY_UNAVAILABLE') {
      console.error(`${name}: ${e.message}`);
      process.exit(69);
    }
    logger.fatal({ err: e }, 'failed to start');
    process.exit(1);
  }
  logger.info({ url: running.url }, `${name} started`);
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      running
        .close()
        .catch((e) => logger.error({ err: e }, 'error during shutdown'))
        .finally(() => process.exit(0));
    });
  }
}
