import { Redis } from 'ioredis';
import { keyringFrom, type Logger } from '@konstruct/core';
import { createDb } from '@konstruct/db';
import { startSubgraphService } from '@konstruct/graphql';
import type { TenancyConfig } from './env.ts';
import { schema } from './schema/index.ts';
import { ensureFirstOperator } from './domain/first-operator.ts';
import { RedisRateLimitCounters } from './domain/rate-limit-counters.ts';

export { loadEnv } from './env.ts';
export { schema };
export { ensureFirstOperator };

/** The tenancy subgraph: tenants, operators and login, API keys, channel connections, rate limits. */
export async function startTenancy(config: TenancyConfig, logger: Logger) {
  if (config.firstAdmin) {
    const db = createDb({ url: config.databaseUrl, poolSize: 1 });
    try {
      if (await ensureFirstOperator(db, config.firstAdmin.email, config.firstAdmin.password))
        logger.info({ email: config.firstAdmin.email }, 'created the first platform operator');
    } finally {
      await db.close();
    }
  }
  // Only the rate-limit counters need Redis; connecting lazily keeps login and the rest of
  // tenancy up while Redis is down (the counters query then fails on its own).
  const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', (e) => logger.warn({ err: e }, 'redis (rate-limit counters) unavailable'));
  const service = await startSubgraphService('tenancy-subgraph', config, schema, logger, {
    jwtSecret: config.jwtSecret,
    keyring: keyringFrom(config.masterKey, config.previousMasterKeys),
    bridgePublicUrl: config.bridgePublicUrl,
    rateLimitCounters: new RedisRateLimitCounters(redis, config.redisKeyPrefix),
  }).catch((e: unknown) => {
    redis.disconnect();
    throw e;
  });
  return {
    url: service.url,
    async close() {
      await service.close();
      redis.disconnect();
    },
  };
}
