import { runService } from '@konstruct/core';
import { loadEnv, startMemory } from './index.ts';

await runService('memory-subgraph', () => loadEnv(), startMemory);
