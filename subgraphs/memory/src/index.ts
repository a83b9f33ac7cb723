import type { Logger } from '@konstruct/core';
import { startDbHealthService } from '@konstruct/db';
import type { MemoryConfig } from './env.ts';

export { loadEnv } from './env.ts';

/** The memory subgraph. Serves health until its GraphQL schema lands. */
export function startMemory(config: MemoryConfig, _logger: Logger) {
  return startDbHealthService('memory-subgraph', config);
}
