/**
 * Generates the Prisma client. The CLI looks for its native schema engine even though
 * `generate` does not use it; that binary is a separate download some networks refuse, so we
 * point it at a harmless executable when none is configured.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const cli = require.resolve('prisma/build/index.js');
const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1' } as Record<string, string>;
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
const result = spawnSync(process.execPath, [cli, 'generate'], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
