import { randomBytes } from 'node:crypto';
import { createLogger } from '@konstruct/core';
import * as tenancy from '../../subgraphs/tenancy/src/index.ts';
import * as agent from '../../subgraphs/agent/src/index.ts';
import * as memory from '../../subgraphs/memory/src/index.ts';
import * as billing from '../../subgraphs/billing/src/index.ts';
import * as audit from '../../subgraphs/audit/src/index.ts';
import { loadEnv as gatewayEnv, startGateway } from '../../gateway/src/index.ts';

export interface Federation {
  gatewayUrl: string;
  jwtSecret: string;
  signingSecret: string;
  masterKey: string;
  /** POSTs a GraphQL request to the gateway. */
  gql<T = any>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<{ status: number; data?: T; errors?: { message: string; extensions?: Record<string, unknown> }[]; headers: Headers }>;
  close(): Promise<void>;
}

/** The five subgraphs and the gateway in this process, against the test database and real Redis. */
export async function startFederation(databaseUrl: string, env: Record<string, string> = {}): Promise<Federation> {
  const jwtSecret = randomBytes(32).toString('hex');
  const signingSecret = randomBytes(32).toString('hex');
  const masterKey = randomBytes(32).toString('base64');
  const common = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: databaseUrl,
    PORT: '0',
    GATEWAY_SIGNING_SECRET: signingSecret,
    JWT_SECRET: jwtSecret,
    KONSTRUCT_MASTER_KEY: masterKey,
    ...env,
  };
  const log = createLogger('test', 'silent');
  const started = {
    tenancy: await tenancy.startTenancy(tenancy.loadEnv(common), log),
    agent: await agent.startAgent(agent.loadEnv(common) as never, log),
    memory: await memory.startMemory(memory.loadEnv(common) as never, log),
    billing: await billing.startBilling(billing.loadEnv(common) as never, log),
    audit: await audit.startAudit(audit.loadEnv(common) as never, log),
  };
  const gw = await startGateway(
    gatewayEnv({
      ...common,
      REDIS_KEY_PREFIX: env.REDIS_KEY_PREFIX ?? `konstruct-test-${randomBytes(4).toString('hex')}:`,
      TENANCY_URL: started.tenancy.url,
      AGENT_URL: started.agent.url,
      MEMORY_URL: started.memory.url,
      BILLING_URL: started.billing.url,
      AUDIT_URL: started.audit.url,
    }),
    log,
  );
  return {
    gatewayUrl: gw.url,
    jwtSecret,
    signingSecret,
    masterKey,
    async gql(query, variables = {}, headers = {}) {
      const res = await fetch(`${gw.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query, variables }),
      });
      const text = await res.text();
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text);
      } catch {
        body = { errors: [{ message: text }] };
      }
      return { status: res.status, headers: res.headers, ...(body as object) };
    },
    async close() {
      await gw.close();
      await Promise.all(Object.values(started).map((s) => s.close()));
    },
  };
}
