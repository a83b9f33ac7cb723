/**
 * One query that crosses two subgraphs, under the same closed-loop load, in one run:
 * (a) through our gateway, (b) directly against one subgraph, (c) through Hive Gateway over
 * the same subgraph processes and the same committed supergraph.graphql.
 *
 * Topology as in `npm start`: the embedded database, the five subgraphs, our gateway and Hive
 * Gateway each in their own process; this process seeds the data and generates the load.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import pg from 'pg';
import { hash } from '@node-rs/argon2';
import { fileURLToPath } from 'node:url';
import { IDENTITY_HEADER, identityKey, safeUrl, signIdentity, type Identity } from '@konstruct/core';
import { migrate } from '@konstruct/db/admin';
import { freePort, firstJsonLine, startProcess, stopProcess, waitHealthy } from './lib/procs.ts';
import { closedLoop, type ClosedLoopResult } from './lib/load.ts';
import { cpuMeter } from './lib/cpu.ts';
import { machine } from './lib/machine.ts';
import { ms } from './lib/stats.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';
const SUBGRAPHS = ['tenancy', 'agent', 'memory', 'billing', 'audit'] as const;
const TENANT_NAME = 'Bench Co';
const IDENTITY_POOL = 1024;

export interface GatewayBenchOptions {
  /** Each concurrency is run over all targets in turn; the first one is the headline. */
  connections: number[];
  /** Seconds per timed round. */
  seconds: number;
  /** Timed rounds per target; targets take turns, in a rotated order each round. */
  rounds: number;
  warmupSeconds: number;
  agents: number;
  /** A Postgres with pgvector to use (migrated first) instead of the embedded database. */
  databaseUrl?: string;
}

type TargetId = 'direct' | 'directTenancy' | 'ours' | 'hive' | 'hiveShared';

interface Target {
  id: TargetId;
  label: string;
  query: string;
  /** What one request costs, in words, for the results. */
  does: string;
  url: string;
  headers: () => Record<string, string>;
  check: (body: unknown) => string | null;
  /** The process whose CPU use is this target's own (the gateway), if any. */
  gatewayPid?: number;
}

export interface TargetRun {
  id: TargetId;
  label: string;
  query: string;
  does: string;
  load: ClosedLoopResult;
  /** CPU ms per completed request, by process. */
  cpuPerRequest: Record<string, number>;
  /** Each timed round on its own; `load` holds their medians. */
  rounds: ClosedLoopResult[];
}

/** Ratios of two targets measured in the same round, one value per round. */
export interface PairedRatios {
  oursDirectP50: number[];
  oursHiveRps: number[];
  oursHiveP99: number[];
}

export interface GatewayBenchResult {
  opts: GatewayBenchOptions;
  runs: { connections: number; targets: TargetRun[]; paired: PairedRatios }[];
  versions: Record<string, string>;
}

interface Seeded {
  tenantId: string;
  operatorId: string;
  email: string;
  password: string;
}

/** A tenant with an admin operator and `agents` employees, inserted as the database owner. */
async function seedTenant(databaseUrl: string, agents: number): Promise<Seeded> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const tenantId = randomUUID();
  const operatorId = randomUUID();
  const email = `bench-${randomBytes(3).toString('hex')}@konstruct.test`;
  const password = randomBytes(12).toString('hex');
  try {
    await client.query('INSERT INTO tenants (id, slug, name) VALUES ($1, $2, $3)', [tenantId, `bench-${tenantId.slice(0, 8)}`, TENANT_NAME]);
    await client.query(`INSERT INTO operators (id, email, password_hash, display_name) VALUES ($1, $2, $3, 'Bench')`, [operatorId, email, await hash(password)]);
    await client.query(`INSERT INTO memberships (id, tenant_id, operator_id, role, accepted_at) VALUES ($1, $2, $3, 'admin', now())`, [randomUUID(), tenantId, operatorId]);
    for (let i = 0; i < agents; i++) {
      await client.query(
        `INSERT INTO agents (id, tenant_id, name, role, persona, system_prompt, updated_at) VALUES ($1, $2, $3, 'front desk', 'Cheerful and brief.', 'Answer in one sentence.', now())`,
        [randomUUID(), tenantId, `Agent ${String(i + 1).padStart(2, '0')}`],
      );
    }
  } finally {
    await client.end();
  }
  return { tenantId, operatorId, email, password };
}

/** Forwards a child's log lines (warnings and errors at LOG_LEVEL=warn) so its pipe never fills. */
function forwardOutput(child: ChildProcess) {
  child.stdout?.pipe(process.stderr);
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

const errorsOf = (body: unknown) => {
  const errors = (body as { errors?: unknown[] }).errors;
  return errors?.length ? `errors in response` : null;
};

export async function gatewayBench(opts: GatewayBenchOptions): Promise<GatewayBenchResult> {
  const procs: ChildProcess[] = [];
  let dbProc: ChildProcess | undefined;
  let databaseUrl = opts.databaseUrl;
  if (databaseUrl) {
    await migrate(databaseUrl, fileURLToPath(new URL('../prisma/migrations', import.meta.url)));
  } else {
    dbProc = startProcess('bench/embedded-db.ts', {});
    databaseUrl = (await firstJsonLine<{ url: string }>(dbProc)).url;
    dbProc.stdout?.resume();
  }
  const signingSecret = randomBytes(32).toString('hex');
  const jwtSecret = randomBytes(32).toString('hex');
  const masterKey = randomBytes(32).toString('base64');
  const seed = await seedTenant(databaseUrl, opts.agents);
  const common = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_URL: databaseUrl,
    GATEWAY_SIGNING_SECRET: signingSecret,
    JWT_SECRET: jwtSecret,
    KONSTRUCT_MASTER_KEY: masterKey,
  };
  const key = identityKey(signingSecret);
  let renew: NodeJS.Timeout | undefined;
  try {
    const ports = Object.fromEntries(await Promise.all(SUBGRAPHS.map(async (name) => [name, await freePort()] as const))) as Record<
      (typeof SUBGRAPHS)[number],
      number
    >;
    const urls = Object.fromEntries(SUBGRAPHS.map((name) => [name, `http://127.0.0.1:${ports[name]}`])) as Record<(typeof SUBGRAPHS)[number], string>;
    const subgraphProcs = Object.fromEntries(
      SUBGRAPHS.map((name) => {
        const child = startProcess(`subgraphs/${name}/src/main.ts`, { ...common, PORT: String(ports[name]) });
        procs.push(child);
        forwardOutput(child);
        return [name, child];
      }),
    ) as Record<(typeof SUBGRAPHS)[number], ChildProcess>;
    await Promise.all(SUBGRAPHS.map((name) => waitHealthy(urls[name])));

    const gatewayPort = await freePort();
    const gateway = startProcess('gateway/src/main.ts', {
      ...common,
      PORT: String(gatewayPort),
      REDIS_URL,
      REDIS_KEY_PREFIX: `konstruct-bench-${randomBytes(3).toString('hex')}:`,
      GATEWAY_RATE_LIMIT_PER_MINUTE: '1000000000',
      TENANCY_URL: urls.tenancy,
      AGENT_URL: urls.agent,
      MEMORY_URL: urls.memory,
      BILLING_URL: urls.billing,
      AUDIT_URL: urls.audit,
    });
    procs.push(gateway);
    forwardOutput(gateway);
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;

    const hive = startProcess('bench/hive-gateway.ts', { NODE_ENV: 'production', PORT: '0', HIVE_SUBGRAPH_URLS: JSON.stringify(urls) });
    procs.push(hive);
    const { url: hiveUrl } = await firstJsonLine<{ url: string }>(hive);
    hive.stdout?.resume();
    await Promise.all([waitHealthy(gatewayUrl), waitHealthy(hiveUrl)]);
    console.log(
      'pids:',
      JSON.stringify({ db: dbProc?.pid, gateway: gateway.pid, hive: hive.pid, ...Object.fromEntries(SUBGRAPHS.map((n) => [n, subgraphProcs[n].pid])) }),
    );

    // (a) logs in through our gateway like the portal does.
    const login = await fetch(`${gatewayUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { __typename ... on Session { token } ... on ValidationError { message } } }',
        variables: { e: seed.email, p: seed.password },
      }),
    });
    const loginBody = (await login.json()) as { data?: { login: { __typename: string; token?: string; message?: string } }; errors?: unknown };
    const token = loginBody.data?.login.token;
    if (!token) throw new Error(`login through the gateway failed: ${JSON.stringify(loginBody)}`);

    // (b) and (c) carry identities signed here exactly as the gateway signs them (they live
    // 60 s). Like the gateway's, each request's identity has its own requestId: a pool larger
    // than the number of requests in flight, re-signed every 20 s, so no two concurrent requests
    // carry the same header (Hive Gateway would otherwise merge identical in-flight fetches).
    const identity = (requestId: string): Identity => ({
      actor: { kind: 'operator', id: seed.operatorId },
      platformAdmin: false,
      tenant: { id: seed.tenantId, role: 'admin' },
      requestId,
    });
    const signPool = (round: number) => Promise.all(Array.from({ length: IDENTITY_POOL }, (_, i) => signIdentity(key, identity(`bench-${round}-${i}`))));
    let pool = await signPool(0);
    let round = 0;
    renew = setInterval(() => {
      void signPool(++round).then((p) => (pool = p));
    }, 20_000);
    let next = 0;
    const ownIdentity = () => pool[next++ % IDENTITY_POOL]!;
    const sharedIdentity = () => pool[0]!;

    const cross = `query Bench { tenant { name agents(first: ${opts.agents}) { items { id name } } } }`;
    const checkCross = (body: unknown) => {
      const b = body as { data?: { tenant?: { name?: string; agents?: { items?: unknown[] } } } };
      if (errorsOf(body)) return errorsOf(body);
      if (b.data?.tenant?.name !== TENANT_NAME) return 'wrong tenant';
      return b.data.tenant.agents?.items?.length === opts.agents ? null : `expected ${opts.agents} agents`;
    };
    const json = { 'content-type': 'application/json' };
    const targets: Target[] = [
      {
        id: 'direct',
        label: '(b) direct: agent subgraph',
        query: `{ agents(first: ${opts.agents}) { items { id name } } }`,
        does: 'the agent subgraph alone: verifies the signed identity header (HS256), executes, reads the agents in one RLS transaction.',
        url: `${urls.agent}/graphql`,
        headers: () => ({ ...json, [IDENTITY_HEADER]: ownIdentity() }),
        check: (body) => {
          if (errorsOf(body)) return errorsOf(body);
          const items = (body as { data?: { agents?: { items?: unknown[] } } }).data?.agents?.items;
          return items?.length === opts.agents ? null : `expected ${opts.agents} agents`;
        },
      },
      {
        id: 'directTenancy',
        label: 'direct: tenancy subgraph (for reference)',
        query: '{ tenant { id name } }',
        does: "the other half of the plan, alone: the tenancy subgraph verifies the identity and reads the tenant's row in one RLS transaction.",
        url: `${urls.tenancy}/graphql`,
        headers: () => ({ ...json, [IDENTITY_HEADER]: ownIdentity() }),
        check: (body) => {
          if (errorsOf(body)) return errorsOf(body);
          return (body as { data?: { tenant?: { name?: string } } }).data?.tenant?.name === TENANT_NAME ? null : 'wrong tenant';
        },
      },
      {
        id: 'ours',
        label: '(a) our gateway',
        query: cross,
        does: 'verifies the operator JWT, takes a token from the Redis rate limiter, parses, validates (graphql-armor limits) and plans the query (Apollo Gateway, plans cached), signs the identity for the subgraphs (HS256), then fetches tenancy `tenant` and agent `_entities` in sequence over a keep-alive http.Agent (node-fetch) and merges.',
        url: `${gatewayUrl}/graphql`,
        headers: () => ({ ...json, authorization: `Bearer ${token}`, 'x-konstruct-tenant': seed.tenantId }),
        check: checkCross,
        gatewayPid: gateway.pid,
      },
      {
        id: 'hive',
        label: '(c) Hive Gateway',
        query: cross,
        does: 'no authentication or rate limit: plans the query and forwards the identity header the client signed (one per request) to both subgraph fetches (tenancy, then agent `_entities`), then merges.',
        url: `${hiveUrl}/graphql`,
        headers: () => ({ ...json, [IDENTITY_HEADER]: ownIdentity() }),
        check: checkCross,
        gatewayPid: hive.pid,
      },
      {
        id: 'hiveShared',
        label: 'Hive Gateway, one identity for all (for reference)',
        query: cross,
        does: 'as (c), but every request carries the same identity header, so Hive Gateway merges concurrent identical subgraph fetches (its `deduplicateInflightRequests`, on by default): this row shows that effect, it is not a like-for-like comparison.',
        url: `${hiveUrl}/graphql`,
        headers: () => ({ ...json, [IDENTITY_HEADER]: sharedIdentity() }),
        check: checkCross,
        gatewayPid: hive.pid,
      },
    ];

    // Fail fast, with the answer, when a target does not return the expected data.
    for (const t of targets) {
      const res = await fetch(t.url, { method: 'POST', headers: t.headers(), body: JSON.stringify({ query: t.query }) });
      const text = await res.text();
      let why: string | null = res.status === 200 ? null : `HTTP ${res.status}`;
      if (!why) {
        try {
          why = t.check(JSON.parse(text));
        } catch {
          why = 'not JSON';
        }
      }
      if (why) throw new Error(`${t.label} does not answer the benchmark query (${why}): ${text.slice(0, 500)}`);
    }

    const runs: GatewayBenchResult['runs'] = [];
    for (const connections of opts.connections) {
      const bases = targets.map((t) => ({ url: t.url, body: JSON.stringify({ query: t.query }), headers: t.headers, check: t.check, connections }));
      // First-use costs (JIT, connection pools, plan caches) are not what we measure.
      for (const base of bases) await closedLoop({ ...base, seconds: opts.warmupSeconds });
      const rounds = targets.map(() => [] as ClosedLoopResult[]);
      const cpu = targets.map(() => ({}) as Record<string, number>);
      for (let round = 0; round < opts.rounds; round++) {
        // Rotating the order spreads drift (caches, other load on the machine) over all targets.
        for (let k = 0; k < targets.length; k++) {
          const i = (k + round) % targets.length;
          const t = targets[i]!;
          const meter = cpuMeter({
            gateway: t.gatewayPid,
            tenancy: subgraphProcs.tenancy.pid,
            agent: subgraphProcs.agent.pid,
            database: dbProc?.pid,
          });
          const load = await closedLoop({ ...bases[i]!, seconds: opts.seconds });
          for (const [key, v] of Object.entries(meter())) cpu[i]![key] = (cpu[i]![key] ?? 0) + v;
          rounds[i]!.push(load);
          console.log(
            `${connections} conn · round ${round + 1} · ${t.label}: ${load.rps.toFixed(0)} req/s, p50 ${ms(load.latency.p50)}, p99 ${ms(load.latency.p99)}, errors ${load.errors}${load.firstError ? ` (${load.firstError})` : ''}`,
          );
        }
      }
      const results: TargetRun[] = targets.map((t, i) => {
        const rs = rounds[i]!;
        const completed = rs.reduce((a, r) => a + r.completed, 0);
        const used = cpu[i]!;
        if (t.gatewayPid === undefined) delete used.gateway;
        const load: ClosedLoopResult = {
          connections,
          completed,
          errors: rs.reduce((a, r) => a + r.errors, 0),
          firstError: rs.find((r) => r.firstError)?.firstError ?? null,
          elapsedSeconds: rs.reduce((a, r) => a + r.elapsedSeconds, 0),
          rps: median(rs.map((r) => r.rps)),
          latency: {
            n: completed,
            p50: median(rs.map((r) => r.latency.p50)),
            p90: median(rs.map((r) => r.latency.p90)),
            p99: median(rs.map((r) => r.latency.p99)),
            max: Math.max(...rs.map((r) => r.latency.max)),
          },
        };
        const cpuPerRequest = Object.fromEntries(Object.entries(used).map(([k, v]) => [k, v / Math.max(1, completed)]));
        return { id: t.id, label: t.label, query: t.query, does: t.does, load, cpuPerRequest, rounds: rs };
      });
      const of = (id: TargetId) => results.find((r) => r.id === id)!.rounds;
      const paired: PairedRatios = {
        oursDirectP50: of('ours').map((r, j) => r.latency.p50 / of('direct')[j]!.latency.p50),
        oursHiveRps: of('ours').map((r, j) => r.rps / of('hive')[j]!.rps),
        oursHiveP99: of('ours').map((r, j) => r.latency.p99 / of('hive')[j]!.latency.p99),
      };
      runs.push({ connections, targets: results, paired });
    }
    const versions = Object.fromEntries(['@graphql-hive/gateway', '@apollo/gateway', '@apollo/server'].map((p) => [p, packageVersion(p)]));
    return { opts, runs, versions };
  } finally {
    clearInterval(renew);
    await Promise.all(procs.map((p) => stopProcess(p)));
    if (dbProc) await stopProcess(dbProc);
  }
}

const x = (v: number) => `${v.toFixed(2)}×`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median of the per-round ratios, with their range. */
const pairedCell = (xs: number[]) => `**${x(median(xs))}** (${x(Math.min(...xs))}–${x(Math.max(...xs))})`;

export function gatewayReport(r: GatewayBenchResult): string {
  const byId = (run: GatewayBenchResult['runs'][number], id: TargetId) => run.targets.find((t) => t.id === id)!;
  const head = r.runs[0]!;
  const sections = r.runs.map((run) => {
    const rows = run.targets
      .map(
        (t) =>
          `| ${t.label} | ${t.load.rps.toFixed(0)} | ${ms(t.load.latency.p50)} | ${ms(t.load.latency.p90)} | ${ms(t.load.latency.p99)} | ${ms(t.load.latency.max)} | ${t.load.completed} | ${t.load.errors} |`,
      )
      .join('\n');
    const cpu = (t: TargetRun, k: string) => (t.cpuPerRequest[k] === undefined || Number.isNaN(t.cpuPerRequest[k]) ? '—' : t.cpuPerRequest[k]!.toFixed(2));
    const cpuRows = run.targets
      .map((t) => {
        const total = Object.values(t.cpuPerRequest).reduce((a, b) => a + b, 0);
        const busy = (total * t.load.rps) / (10 * cpus().length);
        return `| ${t.label} | ${cpu(t, 'gateway')} | ${cpu(t, 'tenancy')} | ${cpu(t, 'agent')} | ${cpu(t, 'database')} | ${cpu(t, 'load generator')} | ${total.toFixed(2)} | ${busy.toFixed(0)} % |`;
      })
      .join('\n');
    const ours = byId(run, 'ours').load;
    const hive = byId(run, 'hive').load;
    const direct = byId(run, 'direct').load;
    return `### ${run.connections} concurrent connection${run.connections === 1 ? '' : 's'}

Each figure is the median over the rounds (max: the highest of all rounds; requests and errors: totals).

| target | req/s | p50 | p90 | p99 | max | requests | errors |
|---|---|---|---|---|---|---|---|
${rows}

Ratios are taken within each round between targets measured minutes apart at most, then the
median over the ${run.paired.oursHiveRps.length} rounds (range in brackets):

| ratio | median of rounds (range) | goal |
|---|---|---|
| ours / direct, p50 latency | ${pairedCell(run.paired.oursDirectP50)} | ≤ 3× |
| ours / Hive, throughput | ${pairedCell(run.paired.oursHiveRps)} | ≥ 1× |
| ours / Hive, p99 latency | ${pairedCell(run.paired.oursHiveP99)} | ≤ 1× |
| ours / direct, throughput (medians) | ${x(ours.rps / direct.rps)} | |
| ours / Hive, p50 latency (medians) | ${x(ours.latency.p50 / hive.latency.p50)} | |

CPU time per request (ms), by process, from /proc over the timed window; "machine" is the
share of all ${cpus().length} cores these processes kept busy:

| target | gateway | tenancy | agent | database | load generator | sum | machine |
|---|---|---|---|---|---|---|---|
${cpuRows}
${
  run.connections === 1
    ? `
Unloaded, the gateway's own cost is visible: ours answers in ${ms(ours.latency.p50)} (p50) where its two subgraph calls
alone take ${ms(direct.latency.p50 + byId(run, 'directTenancy').load.latency.p50)} (the two direct p50s added), so it adds about ${ms(ours.latency.p50 - direct.latency.p50 - byId(run, 'directTenancy').load.latency.p50)}; Hive Gateway adds about
${ms(hive.latency.p50 - direct.latency.p50 - byId(run, 'directTenancy').load.latency.p50)}.
`
    : ''
}`;
  });
  const t = (id: TargetId) => byId(head, id);
  return `## Gateway: one query across two subgraphs — ours vs direct vs Hive Gateway

Run ${new Date().toISOString()} on ${machine()}.
Ours: @apollo/gateway ${r.versions['@apollo/gateway']} in @apollo/server ${r.versions['@apollo/server']} on Express. Hive Gateway:
@graphql-hive/gateway ${r.versions['@graphql-hive/gateway']}, its programmatic runtime on Node's HTTP server, with its defaults except
header propagation (\`bench/hive-gateway.ts\`).

Topology as in \`npm start\`: ${r.opts.databaseUrl ? `Postgres at ${safeUrl(r.opts.databaseUrl)} (its CPU not counted below)` : 'the embedded database (PGlite, in memory, one backend)'}, the five
subgraphs, our gateway and Hive Gateway each in their own Node process (NODE_ENV=production,
LOG_LEVEL=warn), real Redis, all on this machine — with the load generator, which shares the
same ${cpus().length} cores. Data: one tenant with an admin operator and ${r.opts.agents} agents. Load: closed loop, N
workers each sending the next POST as soon as the previous answer is read and checked (Node's
fetch, keep-alive); every target gets ${r.opts.warmupSeconds} s of warm-up, then ${r.opts.rounds} timed rounds of ${r.opts.seconds} s. The targets take
turns within each round, in an order rotated from round to round, against the same subgraph
processes. A request counts only when
it is HTTP 200 without \`errors\` and with all ${r.opts.agents} agents; anything else is an error.

Query through the gateways (Tenant from tenancy, \`agents\` from the agent subgraph):
\`${t('ours').query}\`

Direct query — **(b) is the agent subgraph alone**, same ${r.opts.agents} rows, no tenant name:
\`${t('direct').query}\`; the tenancy row is the plan's other half, for reference: \`${t('directTenancy').query}\`.

What one request does:
${head.targets.map((x) => `- **${x.label}**: ${x.does}`).join('\n')}

So the two gateways do not do the same work: ours additionally verifies a JWT, calls Redis for
the rate limit and signs the identity for the subgraphs on every request; Hive Gateway is
given an identity header the load generator signed in advance and only passes it on. The load
generator signs a pool of ${IDENTITY_POOL} identities with distinct request ids (re-signed every 20 s) and
gives each request the next one, for (b) and (c) alike, as the gateway gives each request its
own; with one shared header Hive Gateway merges identical in-flight subgraph fetches, which the
last row shows.

${sections.join('\n')}
Goal (issue): our gateway at least matches Hive Gateway's throughput and p99, and stays within
3× the direct call (p50), at ${head.connections} connection${head.connections === 1 ? '' : 's'}.

${r.opts.databaseUrl ? '' : `Reading these numbers: everything shares ${cpus().length} cores (the "machine" column leaves out Redis and
the kernel), and the embedded database is one PGlite backend whose socket server runs one
transaction at a time across all connections, holding it through the client's round trips
(BEGIN, role and tenant settings, query, COMMIT). Under load, every target's latency is mostly
queueing, for the CPU and for that database, which is why the loaded p50 ratio to the direct
call is small: the direct call queues too. The cross-subgraph query costs two transactions and
about twice the subgraph CPU of a direct call, so a gateway gets at most about half the direct
rate here. The unloaded (1 connection) ratios and the CPU per request are where the gateways'
own costs show. BENCH_DATABASE_URL runs this against a Postgres with pgvector instead (none is
packaged for this machine's Postgres).
`}`;
}
