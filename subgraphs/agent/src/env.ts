import { z } from 'zod';
import { envFields, subgraphEnvSchema, parseEnv } from '@konstruct/core';

/** The subgraph env plus the master key that seals tool HMAC secrets. */
const agentEnvSchema = subgraphEnvSchema(4002).and(
  z.object({ KONSTRUCT_MASTER_KEY: envFields.masterKey }).transform((e) => ({ masterKey: e.KONSTRUCT_MASTER_KEY })),
);

export type AgentConfig = z.output<typeof agentEnvSchema>;

/** The only reader of process.env in the agent subgraph. */
export function loadEnv(source: Record<string, string | undefined> = process.env): AgentConfig {
  return parseEnv(agentEnvSchema, source);
}
