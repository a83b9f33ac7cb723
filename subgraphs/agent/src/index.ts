import type { Logger } from '@konstruct/core';
import { startDbHealthService } from '@konstruct/db';
import type { AgentConfig } from './env.ts';

export { loadEnv } from './env.ts';

/** The agent subgraph. Serves health until its GraphQL schema lands. */
export function startAgent(config: AgentConfig, _logger: Logger) {
  return startDbHealthService('agent-subgraph', config);
}
