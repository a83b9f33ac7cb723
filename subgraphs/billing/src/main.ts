import { runService } from '@konstruct/core';
import { loadEnv, startBilling } from './index.ts';

await runService('billing-subgraph', () => loadEnv(), startBilling);
