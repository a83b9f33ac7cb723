import { z } from 'zod';

/** Raised when a process's configuration is invalid; carries every problem at once. */
export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'EnvError';
  }
}

/**
 * Parses a flat env source (UPPER_SNAKE names) with a zod schema and reports every
 * problem in one error, so an operator fixes all of them in one go.
 */
export function parseEnv<S extends z.ZodType>(schema: S, source: Record<string, string | undefined>): z.output<S> {
  const cleaned: Record<string, string> = {};
  for (const [k, v] of Object.entries(source)) {
    if (v !== undefined && v !== '') cleaned[k] = v;
  }
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  throw new EnvError(
    result.error.issues.map((issue) => {
      const name = issue.path.join('.') || '(root)';
      const message = issue.code === 'invalid_type' && cleaned[name] === undefined ? 'is required' : issue.message;
      return `${name} ${message}`;
    }),
  );
}

/** Common env fields, reused by each process's own env module. */
export const envFields = {
  nodeEnv: z.enum(['development', 'test', 'production']).default('development'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// URL'),
  redisUrl: z.string().url().default('redis://127.0.0.1:6379'),
  amqpUrl: z.string().url().default('amqp://guest:guest@127.0.0.1:5672'),
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  masterKey: z
    .string()
    .refine((s) => Buffer.from(s, 'base64').length === 32, 'must be 32 bytes, base64-encoded (openssl rand -base64 32)'),
};

/** The env every subgraph shares: its port, the database, and the gateway's signing secret. */
export function subgraphEnvShape(defaultPort: number) {
  return {
    NODE_ENV: envFields.nodeEnv,
    LOG_LEVEL: envFields.logLevel,
    PORT: envFields.port(defaultPort),
    HOST: z.string().default('127.0.0.1'),
    DATABASE_URL: envFields.databaseUrl,
    GATEWAY_SIGNING_SECRET: z.string().min(32, 'must be at least 32 characters'),
  };
}

type SubgraphEnv = z.output<z.ZodObject<ReturnType<typeof subgraphEnvShape>>>;

export function subgraphConfigFrom(e: SubgraphEnv) {
  return {
    nodeEnv: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    gatewaySigningSecret: e.GATEWAY_SIGNING_SECRET,
  };
}

export function subgraphEnvSchema(defaultPort: number) {
  return z.object(subgraphEnvShape(defaultPort)).transform(subgraphConfigFrom);
}
export type SubgraphConfig = ReturnType<typeof subgraphConfigFrom>;
