import { runService } from '@konstruct/core';
import { loadEnv, startTenancy } from './index.ts';

await runService('tenancy-subgraph', () => loadEnv(), startTenancy);
