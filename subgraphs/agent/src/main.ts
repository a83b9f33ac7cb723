import { runService } from '@konstruct/core';
import { loadEnv, startAgent } from './index.ts';

await runService('agent-subgraph', () => loadEnv(), startAgent);
