/**
 * `npm run memory:maintain`: gives every (tenant, agent) group of long-term memory that has
 * outgrown exact search its own partial HNSW index, and drops the index of one that shrank
 * (agent-runner/src/memory/maintenance.ts). Index DDL needs the table owner, so this runs with
 * the owner's DATABASE_URL, like migrations — a scheduled job in production (CONCURRENTLY, so
 * writers are not blocked); `npm start` runs it itself every 10 minutes on the embedded
 * database. `--every <seconds>` keeps it running.
 */
import pg from 'pg';
import { createLogger } from '@konstruct/core';
import { startEmbeddedPostgres } from '@konstruct/db/admin';
import { ensureMemoryIndexes, startMemoryIndexMaintenance } from '../agent-runner/src/memory/maintenance.ts';
import { loadEnv } from './env.ts';

const config = loadEnv();
const every = process.argv.includes('--every') ? Number(process.argv[process.argv.indexOf('--every') + 1]) : null;
if (every !== null && !(every > 0)) {
  console.error('--every takes a number of seconds');
  process.exit(2);
}
const embedded = config.databaseUrl ? null : await startEmbeddedPostgres({ dataDir: `${config.dataDir}/pg`, port: config.embeddedPort });
const pool = new pg.Pool({ connectionString: config.databaseUrl ?? embedded!.url, max: 2 });
const options = { threshold: config.memoryIndexThreshold, concurrently: embedded === null };

if (every === null) {
  try {
    const actions = await ensureMemoryIndexes(pool, options);
    for (const a of actions) console.log(`${a.action.padEnd(6)} ${a.indexName} (${a.rows} memories)`);
    console.log(`${actions.filter((a) => a.action !== 'keep').length} changed, ${actions.length} groups over the threshold or indexed`);
  } catch (e) {
    console.error(`memory index maintenance failed: ${(e as Error).message}`);
    process.exitCode = 1;
  } finally {
    await pool.end();
    await embedded?.stop();
  }
} else {
  const job = startMemoryIndexMaintenance(pool, { ...options, intervalMs: every * 1000, logger: createLogger('memory-maintain', config.logLevel) });
  const stop = async () => {
    await job.stop();
    await pool.end();
    await embedded?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  // The interval timer is unref'd: keep the process alive until a signal.
  setInterval(() => undefined, 1 << 30);
}
