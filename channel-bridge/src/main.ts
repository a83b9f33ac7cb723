import { runService } from '@konstruct/core';
import { loadEnv } from './env.ts';
import { startBridge } from './server.ts';

await runService('channel-bridge', () => loadEnv(), startBridge);
