import { runService } from '@konstruct/core';
import { loadEnv, startAudit } from './index.ts';

await runService('audit-subgraph', () => loadEnv(), startAudit);
