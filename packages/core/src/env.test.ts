import { randomBytes } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import { z } from 'zod';
import { EnvError, envFields, parseEnv } from './env.ts';

const schema = z.object({
  NODE_ENV: envFields.nodeEnv,
  LOG_LEVEL: envFields.logLevel,
  DATABASE_URL: envFields.databaseUrl,
  REDIS_URL: envFields.redisUrl,
  AMQP_URL: envFields.amqpUrl,
  PORT: envFields.port(4000),
  MASTER_KEY: envFields.masterKey,
});

const goodKey = randomBytes(32).toString('base64');
const goodDb = 'postgres://konstruct:secret@127.0.0.1:5432/konstruct';

function catchEnvError(fn: () => unknown): EnvError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EnvError);
    return err as EnvError;
  }
  throw new Error('expected parseEnv to throw');
}

describe('parseEnv', () => {
  it('returns typed values and applies defaults', () => {
    const env = parseEnv(schema, { DATABASE_URL: goodDb, MASTER_KEY: goodKey, PORT: '8080', NODE_ENV: 'production' });
    expect(env).toEqual({
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      DATABASE_URL: goodDb,
      REDIS_URL: 'redis://127.0.0.1:6379',
      AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
      PORT: 8080,
      MASTER_KEY: goodKey,
    });
    expect(typeof env.PORT).toBe('number');
  });

  it('uses the port fallback when PORT is unset', () => {
    const env = parseEnv(schema, { DATABASE_URL: goodDb, MASTER_KEY: goodKey });
    expect(env.PORT).toBe(4000);
    expect(env.NODE_ENV).toBe('development');
  });

  it('treats empty strings as unset: defaults apply and required vars are reported missing', () => {
    const env = parseEnv(schema, { DATABASE_URL: goodDb, MASTER_KEY: goodKey, REDIS_URL: '', PORT: '', LOG_LEVEL: '' });
    expect(env.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(env.PORT).toBe(4000);
    expect(env.LOG_LEVEL).toBe('info');

    const err = catchEnvError(() => parseEnv(schema, { DATABASE_URL: '', MASTER_KEY: goodKey }));
    expect(err.problems).toEqual(['DATABASE_URL is required']);
  });

  it('ignores variables that are not in the schema', () => {
    const env = parseEnv(schema, { DATABASE_URL: goodDb, MASTER_KEY: goodKey, PATH: '/usr/bin', HOME: undefined });
    expect(env).not.toHaveProperty('PATH');
  });

  it('reports every problem at once and names each variable in the message', () => {
    const err = catchEnvError(() =>
      parseEnv(schema, {
        // DATABASE_URL missing
        REDIS_URL: 'not a url',
        MASTER_KEY: randomBytes(16).toString('base64'),
        PORT: '70000',
      }),
    );
    expect(err.name).toBe('EnvError');
    expect(err.problems).toHaveLength(4);
    expect(err.problems).toContain('DATABASE_URL is required');
    expect(err.problems.some((p) => p.startsWith('REDIS_URL '))).toBe(true);
    expect(err.problems).toContain('MASTER_KEY must be 32 bytes, base64-encoded (openssl rand -base64 32)');
    expect(err.problems.some((p) => p.startsWith('PORT '))).toBe(true);
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'MASTER_KEY', 'PORT']) {
      expect(err.message).toContain(`  - ${name} `);
    }
    expect(err.message.startsWith('Invalid configuration:\n')).toBe(true);
  });

  it('reports a non-numeric port with the validator message, not as "is required"', () => {
    const err = catchEnvError(() => parseEnv(schema, { DATABASE_URL: goodDb, MASTER_KEY: goodKey, PORT: 'eighty' }));
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^PORT /);
    expect(err.problems[0]).not.toContain('is required');
  });

  it('rejects a non-postgres database URL', () => {
    const err = catchEnvError(() => parseEnv(schema, { DATABASE_URL: 'mysql://db:3306/x', MASTER_KEY: goodKey }));
    expect(err.problems).toEqual(['DATABASE_URL must be a postgres:// URL']);
    const lookalike = catchEnvError(() => parseEnv(schema, { DATABASE_URL: 'postgres-evil://x', MASTER_KEY: goodKey }));
    expect(lookalike.problems).toEqual(['DATABASE_URL must be a postgres:// URL']);
  });

  it('rejects an unknown NODE_ENV', () => {
    const err = catchEnvError(() => parseEnv(schema, { DATABASE_URL: goodDb, MASTER_KEY: goodKey, NODE_ENV: 'prod' }));
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^NODE_ENV /);
  });
});

describe('envFields.masterKey', () => {
  it('accepts a 32-byte base64 key', () => {
    expect(envFields.masterKey.safeParse(goodKey).success).toBe(true);
  });

  it('rejects a 16-byte key', () => {
    const result = envFields.masterKey.safeParse(randomBytes(16).toString('base64'));
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.message).toContain('32 bytes');
  });

  it('rejects a 33-byte key and a non-base64 string', () => {
    expect(envFields.masterKey.safeParse(randomBytes(33).toString('base64')).success).toBe(false);
    expect(envFields.masterKey.safeParse('changeme').success).toBe(false);
  });
});
