import { dependencyUnavailable, startHealthServer, type Logger } from '@konstruct/core';
import { createDb } from '@konstruct/db';
import type { MemoryConfig } from './env.ts';

export { loadEnv } from './env.ts';

/** The memory subgraph. Serves health until its GraphQL schema lands. */
export async function startMemory(config: MemoryConfig, _logger: Logger) {
  const db = createDb({ url: config.databaseUrl, poolSize: 5 });
  await db.ping().catch((e) => {
    throw dependencyUnavailable('Postgres', config.databaseUrl, e);
  });
  const health = await startHealthServer({
    port: config.port,
    host: config.host,
    service: 'memory-subgraph',
    checks: { postgres: () => db.ping() },
  });
  return {
    url: health.url,
    async close() {
      await health.close();
      await db.close();
    },
  };
}
