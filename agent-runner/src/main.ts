import { runService } from '@konstruct/core';
import { loadEnv } from './env.ts';
import { startRunner } from './server.ts';

await runService('agent-runner', () => loadEnv(), (config, logger) => startRunner(config, logger));
