import { keyringFrom, type Logger } from '@konstruct/core';
import { createDb } from '@konstruct/db';
import { startSubgraphService } from '@konstruct/graphql';
import type { TenancyConfig } from './env.ts';
import { schema } from './schema/index.ts';
import { ensureFirstOperator } from './domain/first-operator.ts';

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
  return startSubgraphService('tenancy-subgraph', config, schema, logger, {
    jwtSecret: config.jwtSecret,
    keyring: keyringFrom(config.masterKey, config.previousMasterKeys),
  });
}
