import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, migrate } from '@konstruct/db/admin';
import { fileURLToPath } from 'node:url';

/**
 * One embedded Postgres (PGlite + pgvector, in memory) for the whole test run, migrated the
 * same way production is. Tests create their own tenants with random ids, so they never see
 * each other's rows. Set TEST_DATABASE_URL to run against a real Postgres with pgvector.
 */
export default async function setup(project: TestProject) {
  const external = process.env.TEST_DATABASE_URL;
  const pg = external ? null : await startEmbeddedPostgres();
  const url = external ?? pg!.url;
  await migrate(url, fileURLToPath(new URL('../../prisma/migrations', import.meta.url)));
  project.provide('databaseUrl', url);
  return async () => {
    await pg?.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}
