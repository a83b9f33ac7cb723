import { runService } from '@konstruct/core';
import { loadEnv, startGateway } from './index.ts';

await runService('gateway', () => loadEnv(), startGateway);
