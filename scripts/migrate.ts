/** `npm run db:migrate`: applies pending SQL migrations to DATABASE_URL (or the embedded database). */
import { fileURLToPath } from 'node:url';
import { migrate, startEmbeddedPostgres } from '@konstruct/db/admin';
import { loadEnv } from './env.ts';

const config = loadEnv();
const dir = fileURLToPath(new URL('../prisma/migrations', import.meta.url));
const embedded = config.databaseUrl
  ? null
  : await startEmbeddedPostgres({ dataDir: `${config.dataDir}/pg`, port: config.embeddedPort });
const url = config.databaseUrl ?? embedded!.url;
try {
  const result = await migrate(url, dir);
  for (const name of result.applied) console.log(`applied  ${name}`);
  console.log(`${result.applied.length} applied, ${result.alreadyApplied.length} already applied`);
} catch (e) {
  console.error(`migration failed: ${(e as Error).message}`);
  process.exitCode = 1;
} finally {
  await embedded?.stop();
}
