/** Child process: an in-memory embedded Postgres, migrated; prints its URL and serves until killed. */
import { fileURLToPath } from 'node:url';
import { migrate, startEmbeddedPostgres } from '@konstruct/db/admin';

const pg = await startEmbeddedPostgres({ port: 0 });
await migrate(pg.url, fileURLToPath(new URL('../prisma/migrations', import.meta.url)));
process.stdout.write(`${JSON.stringify({ url: pg.url })}\n`);
process.on('SIGTERM', () => {
  void pg.stop().finally(() => process.exit(0));
});
