import { keyringFrom, type Logger } from '@konstruct/core';
import { startSubgraphService } from '@konstruct/graphql';
import type { AgentContextExtra } from './builder.ts';
import type { AgentConfig } from './env.ts';
import { schema } from './schema/index.ts';

export { loadEnv } from './env.ts';

/** The agent subgraph: agents, tools, escalation rules, conversations and handoffs. */
export function startAgent(config: AgentConfig, logger: Logger) {
  const extra: AgentContextExtra = { keyring: keyringFrom(config.masterKey) };
  return startSubgraphService('agent-subgraph', config, schema, logger, extra);
}
