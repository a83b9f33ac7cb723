import { dependencyUnavailable, startHealthServer } from '@konstruct/core';
import { createDb } from './client.ts';

/**
 * A process whose only surface so far is health: `/healthz`, and `/readyz` that checks the
 * database. Subgraphs start this way until their GraphQL schema lands.
 */
export async function startDbHealthService(
  service: string,
  config: { port: number; host: string; databaseUrl: string },
): Promise<{ url: string; close(): Promise<void> }> {
  const db = createDb({ url: config.databaseUrl, poolSize: 2 });
  await db.ping().catch((e) => {
    throw dependencyUnavailable('Postgres', config.databaseUrl, e);
  });
  const health = await startHealthServer({ port: config.port, host: config.host, service, checks: { postgres: () => db.ping() } });
  return {
    url: health.url,
    async close() {
      await health.close();
      await db.close();
    },
  };
}
