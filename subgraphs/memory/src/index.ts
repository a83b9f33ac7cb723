import type { Logger } from '@konstruct/core';
import { startSubgraphService } from '@konstruct/graphql';
import type { MemoryConfig } from './env.ts';
import { schema } from './schema/index.ts';

export { loadEnv } from './env.ts';

/** The memory subgraph: what agents remember, its search, and the "forget me" request. */
export function startMemory(config: MemoryConfig, logger: Logger) {
  return startSubgraphService('memory-subgraph', config, schema, logger);
}
