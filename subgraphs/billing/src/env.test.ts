import { describe, expect, it } from 'vitest';
import { EnvError } from '@konstruct/core';
import { loadEnv } from './env.ts';

const base = {
  DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/konstruct',
  GATEWAY_SIGNING_SECRET: 's'.repeat(32),
  KONSTRUCT_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
};

describe('billing env', () => {
  it('reads the subgraph settings and the master key', () => {
    expect(loadEnv(base)).toMatchObject({ port: 4004, databaseUrl: base.DATABASE_URL, masterKey: base.KONSTRUCT_MASTER_KEY });
  });
  it('reports every problem at once, the master key included', () => {
    try {
      loadEnv({ KONSTRUCT_MASTER_KEY: 'too-short' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(EnvError);
      const problems = (e as EnvError).problems.join('\n');
      expect(problems).toMatch(/DATABASE_URL is required/);
      expect(problems).toMatch(/GATEWAY_SIGNING_SECRET is required/);
      expect(problems).toMatch(/KONSTRUCT_MASTER_KEY must be 32 bytes/);
    }
  });
});
