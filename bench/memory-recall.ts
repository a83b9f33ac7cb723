/**
 * Long-term memory recall: recall@10 against brute force for every tenant, and query latency,
 * on the embedded database, with the per-group plan of `searchMemoryVectors`: exact search for
 * groups under the threshold, the group's own partial HNSW index at or over it.
 *
 * Data: `tenants` tenants with one agent and `items` memories each, plus one large tenant with
 * an agent of `large` memories (over the threshold: indexed) and an agent just under the
 * threshold (exact: the slowest exact search the policy allows). Vectors are dense 384-dimension
 * unit vectors shaped like a sentence-embedding model's (bench/lib/memory-corpus.ts): each
 * tenant writes about its own handful of topics and asks about them. They are built inside
 * Postgres from shared centre and noise tables (index triples sent from here), so 200 000 rows
 * load in seconds; the same vectors are rebuilt here in float64 for the brute force.
 *
 * Every query goes through the product path: `db.withTenant` (SET LOCAL ROLE, tenant setting,
 * row-level security) → `searchMemoryVectors`, over TCP to the embedded database in its own
 * process. Queries run one at a time; latency is the whole transaction as the runner sees it.
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import pg from 'pg';
import { createDb, efSearchFor, memoryAnnIndexName, memorySearchSql, searchMemoryVectors, tenantScope, type Db, type TenantScope } from '@konstruct/db';
import { toVectorLiteral } from '@konstruct/core';
import { ensureMemoryIndexes, MEMORY_INDEX_THRESHOLD_DEFAULT } from '../agent-runner/src/memory/maintenance.ts';
import { denseDistance, denseSpace, recallByDistance, rng, type DenseSpace } from './lib/memory-corpus.ts';
import { firstJsonLine, startProcess, stopProcess } from './lib/procs.ts';
import { machine } from './lib/machine.ts';
import { ms, summarize } from './lib/stats.ts';

const MODEL = 'bench-dense-384';
const K = 10;
const TOPICS_PER_TENANT = 8;
const TOPICS_LARGE = 64;

export interface MemoryBenchOptions {
  tenants: number;
  items: number;
  large: number;
  /** Queries per small tenant. */
  queries: number;
  /** Queries for each agent of the large tenant. */
  largeQueries: number;
  threshold?: number;
}

interface Group {
  label: string;
  scope: TenantScope;
  agentId: string;
  topics: number[];
  vectors: Float32Array[];
}

interface GroupRun {
  label: string;
  rows: number;
  plan: string;
  recall: number;
  latencies: number[];
  /** EXPLAIN ANALYZE of separate sample queries: time inside Postgres and shared-buffer traffic. */
  server?: ServerSide;
}

interface ServerSide {
  n: number;
  execP50: number;
  execP99: number;
  hitMean: number;
  readMean: number;
}

export interface MemoryBenchResult {
  opts: Required<MemoryBenchOptions>;
  at: string;
  machine: string;
  loadMs: number;
  indexMs: number;
  indexActions: string[];
  small: GroupRun[];
  largeAnn: GroupRun;
  largeExact: GroupRun;
  floor: ReturnType<typeof summarize>;
  explainSmall: string;
  explainLarge: string;
  /** 1-minute load average when the timed queries started and ended (other work on the machine). */
  load: [number, number];
}

function ensureVectorTables(owner: pg.Client, space: DenseSpace) {
  return (async () => {
    await owner.query('DROP TABLE IF EXISTS bench_centres, bench_noise');
    await owner.query('CREATE TABLE bench_centres (i int PRIMARY KEY, v vector(384))');
    await owner.query('CREATE TABLE bench_noise (i int PRIMARY KEY, v vector(384))');
    for (const [table, rows] of [['bench_centres', space.centres], ['bench_noise', space.noise]] as const) {
      for (let i = 0; i < rows.length; i += 256) {
        const chunk = rows.slice(i, i + 256);
        await owner.query(`INSERT INTO ${table} SELECT * FROM unnest($1::int[], $2::vector[])`, [chunk.map((_, j) => i + j), chunk.map((v) => toVectorLiteral(v))]);
      }
    }
  })();
}

/** Inserts n memories of the group, built in SQL from (centre, noise, noise) triples; returns the vectors as rebuilt here. */
async function loadGroup(owner: pg.Client, space: DenseSpace, g: Omit<Group, 'vectors'>, n: number, seed: number): Promise<Group> {
  const r = rng(seed);
  const vectors: Float32Array[] = [];
  for (let start = 0; start < n; start += 5_000) {
    const size = Math.min(5_000, n - start);
    const ids: string[] = [];
    const cs: number[] = [];
    const as: number[] = [];
    const bs: number[] = [];
    for (let i = 0; i < size; i++) {
      const c = g.topics[Math.floor(r() * g.topics.length)]!;
      const a = Math.floor(r() * space.noise.length);
      const b = Math.floor(r() * space.noise.length);
      ids.push(randomUUID());
      cs.push(c);
      as.push(a);
      bs.push(b);
      vectors.push(Float32Array.from(space.vector(c, a, b)));
    }
    await owner.query(
      `INSERT INTO memory_items (id, tenant_id, agent_id, end_user_external_id, text, embedding, embedding_model)
       SELECT u.id, $1, $2, 'U' || (u.ord % 50), 'memory ' || u.ord, l2_normalize(c.v + a.v + b.v), $3
         FROM unnest($4::uuid[], $5::int[], $6::int[], $7::int[]) WITH ORDINALITY AS u(id, c, a, b, ord)
         JOIN bench_centres c ON c.i = u.c
         JOIN bench_noise a ON a.i = u.a
         JOIN bench_noise b ON b.i = u.b`,
      [g.scope.tenantId, g.agentId, MODEL, ids, cs, as, bs],
    );
  }
  return { ...g, vectors };
}

async function newTenant(owner: pg.Client, name: string, agents: number): Promise<{ scope: TenantScope; agentIds: string[] }> {
  const id = randomUUID();
  await owner.query('INSERT INTO tenants (id, slug, name) VALUES ($1, $2, $3)', [id, `bench-mem-${id.slice(0, 8)}`, name]);
  const agentIds: string[] = [];
  for (let i = 0; i < agents; i++) {
    const agentId = randomUUID();
    await owner.query('INSERT INTO agents (id, tenant_id, name) VALUES ($1, $2, $3)', [agentId, id, `Agent ${i + 1}`]);
    agentIds.push(agentId);
  }
  return { scope: tenantScope(id), agentIds };
}

const pickTopics = (r: () => number, n: number, of: number) => Array.from({ length: n }, () => Math.floor(r() * of));

async function runGroup(db: Db, space: DenseSpace, g: Group, queries: number, seed: number): Promise<GroupRun> {
  const r = rng(seed);
  const latencies: number[] = [];
  const plans = new Set<string>();
  const answers: { q: number[]; distances: number[] }[] = [];
  for (let i = 0; i < queries; i++) {
    const q = space.sample(r, g.topics[Math.floor(r() * g.topics.length)]);
    const t = performance.now();
    const res = await db.withTenant(g.scope, (tx) => searchMemoryVectors(tx, g.scope, { agentId: g.agentId, vector: q, model: MODEL, k: K }));
    latencies.push(performance.now() - t);
    plans.add(res.plan);
    answers.push({ q, distances: res.hits.map((h) => h.distance) });
  }
  // Brute force after the timed loop: its CPU and garbage must not land inside a timed query.
  let recallSum = 0;
  for (const a of answers) recallSum += recallByDistance(g.vectors.map((v) => denseDistance(a.q, v)), a.distances, K);
  return { label: g.label, rows: g.vectors.length, plan: [...plans].join('+'), recall: recallSum / queries, latencies };
}

/** What the query costs inside Postgres, on fresh query vectors: EXPLAIN (ANALYZE, BUFFERS) with the search's settings. */
async function serverSide(db: Db, g: Group, plan: 'exact' | 'ann', space: DenseSpace, n: number, seed: number): Promise<ServerSide> {
  const r = rng(seed);
  const exec: number[] = [];
  let hit = 0;
  let read = 0;
  for (let i = 0; i < n; i++) {
    const q = space.sample(r, g.topics[Math.floor(r() * g.topics.length)]);
    const [row] = await db.withTenant(g.scope, async (tx) => {
      if (plan === 'ann') {
        await tx.$queryRaw`SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), set_config('hnsw.ef_search', ${String(efSearchFor(K))}, true), set_config('enable_sort', 'off', true)`;
      }
      const sql = memorySearchSql(g.scope, { agentId: g.agentId, vector: q, model: MODEL, k: K }, plan);
      return tx.$queryRaw<{ 'QUERY PLAN': [{ 'Execution Time': number; Plan: { 'Shared Hit Blocks': number; 'Shared Read Blocks': number } }] }[]>`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}`;
    });
    const out = row!['QUERY PLAN'][0];
    exec.push(out['Execution Time']);
    hit += out.Plan['Shared Hit Blocks'];
    read += out.Plan['Shared Read Blocks'];
  }
  const s = summarize(exec);
  return { n, execP50: s.p50, execP99: s.p99, hitMean: hit / n, readMean: read / n };
}

async function explain(db: Db, g: Group, plan: 'exact' | 'ann', space: DenseSpace): Promise<string> {
  const q = space.sample(rng(1), g.topics[0]);
  const lines = await db.withTenant(g.scope, async (tx) => {
    if (plan === 'ann') {
      await tx.$queryRaw`SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), set_config('hnsw.ef_search', ${String(efSearchFor(K))}, true), set_config('enable_sort', 'off', true)`;
    }
    return tx.$queryRaw<{ 'QUERY PLAN': string }[]>`EXPLAIN ${memorySearchSql(g.scope, { agentId: g.agentId, vector: q, model: MODEL, k: K }, plan)}`;
  });
  // The access path, without the query vector's 384 numbers.
  return lines
    .map((l) => l['QUERY PLAN'])
    .filter((l) => /Scan|Sort\b|Limit/.test(l) && !/Sort Key/.test(l))
    .map((l) => l.replace(/\s+\(cost=.*$/, '').replace(/^\s*(->)?\s*/, ''))
    .join(' → ');
}

export async function memoryRecallBench(o: MemoryBenchOptions): Promise<MemoryBenchResult> {
  const opts = { threshold: MEMORY_INDEX_THRESHOLD_DEFAULT, ...o };
  const dbProc = startProcess('bench/embedded-db.ts', {});
  const { url } = await firstJsonLine<{ url: string }>(dbProc);
  dbProc.stdout?.resume();
  const owner = new pg.Client({ connectionString: url });
  await owner.connect();
  const db = createDb({ url, poolSize: 4 });
  try {
    const space = denseSpace(2026, 256, 2048);
    const r = rng(7);
    await ensureVectorTables(owner, space);

    const t0 = performance.now();
    const small: Group[] = [];
    for (let i = 0; i < opts.tenants; i++) {
      const t = await newTenant(owner, `Small ${i + 1}`, 1);
      small.push(await loadGroup(owner, space, { label: `small ${i + 1}`, scope: t.scope, agentId: t.agentIds[0]!, topics: pickTopics(r, TOPICS_PER_TENANT, 256) }, opts.items, 1000 + i));
    }
    const big = await newTenant(owner, 'Large', 2);
    const largeAnn = await loadGroup(owner, space, { label: 'large tenant, agent 1', scope: big.scope, agentId: big.agentIds[0]!, topics: pickTopics(r, TOPICS_LARGE, 256) }, opts.large, 1);
    const underThreshold = Math.max(1, opts.threshold - 500);
    const largeExact = await loadGroup(owner, space, { label: 'large tenant, agent 2', scope: big.scope, agentId: big.agentIds[1]!, topics: pickTopics(r, TOPICS_PER_TENANT, 256) }, underThreshold, 2);
    await owner.query('DROP TABLE bench_centres, bench_noise');
    await owner.query('ANALYZE memory_items');
    const loadMs = performance.now() - t0;
    console.log(`memory bench: loaded ${opts.tenants * opts.items + opts.large + underThreshold} memories in ${(loadMs / 1000).toFixed(1)} s`);

    const t1 = performance.now();
    const actions = await ensureMemoryIndexes(owner, { threshold: opts.threshold });
    const indexMs = performance.now() - t1;
    console.log(`memory bench: maintenance ${actions.map((a) => `${a.action} ${a.rows}`).join(', ')} in ${(indexMs / 1000).toFixed(1)} s`);
    if (!actions.some((a) => a.action === 'create' && a.agentId === largeAnn.agentId)) throw new Error('the large group was not indexed');

    // Floor: the same transaction with a trivial query.
    const floor: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t = performance.now();
      await db.withTenant(largeAnn.scope, (tx) => tx.$queryRaw`SELECT 1`);
      floor.push(performance.now() - t);
    }
    // Warm-up (not counted): caches, the index pages, the plan cache.
    for (const g of [...small.slice(0, 20), largeAnn, largeExact]) await runGroup(db, space, g, 5, 99);

    const loadStart = loadavg()[0]!;
    const smallRuns: GroupRun[] = [];
    for (const [i, g] of small.entries()) smallRuns.push(await runGroup(db, space, g, opts.queries, 5000 + i));
    const annRun = await runGroup(db, space, largeAnn, opts.largeQueries, 11);
    const exactRun = await runGroup(db, space, largeExact, opts.largeQueries, 12);
    const loadEnd = loadavg()[0]!;
    smallRuns[0]!.server = await serverSide(db, small[0]!, 'exact', space, 20, 71);
    annRun.server = await serverSide(db, largeAnn, 'ann', space, 20, 72);
    exactRun.server = await serverSide(db, largeExact, 'exact', space, 20, 73);
    const explainSmall = await explain(db, small[0]!, 'exact', space);
    const explainLarge = (await explain(db, largeAnn, 'ann', space)).replace(memoryAnnIndexName(largeAnn.scope.tenantId, largeAnn.agentId), 'memory_items_ann_<md5 of tenant:agent>');
    return {
      opts,
      at: new Date().toISOString(),
      machine: machine(),
      loadMs,
      indexMs,
      indexActions: actions.map((a) => `${a.action} (${a.rows} rows)`),
      small: smallRuns,
      largeAnn: annRun,
      largeExact: exactRun,
      floor: summarize(floor),
      explainSmall,
      explainLarge,
      load: [loadStart, loadEnd],
    };
  } finally {
    await db.close();
    await owner.end();
    await stopProcess(dbProc);
  }
}

export function memoryRecallReport(r: MemoryBenchResult): string {
  const smallLat = summarize(r.small.flatMap((g) => g.latencies));
  const all = summarize([...r.small.flatMap((g) => g.latencies), ...r.largeAnn.latencies, ...r.largeExact.latencies]);
  const recalls = r.small.map((g) => g.recall);
  const minSmall = Math.min(...recalls);
  const meanSmall = recalls.reduce((a, b) => a + b, 0) / recalls.length;
  const below = recalls.filter((x) => x < 0.95).length;
  const row = (label: string, rows: string, plan: string, recall: string, s: ReturnType<typeof summarize>, server?: ServerSide) =>
    `| ${label} | ${rows} | ${plan} | ${recall} | ${s.n} | ${ms(s.p50)} | ${ms(s.p99)} | ${ms(s.max)} | ${(s.p50 / r.floor.p50).toFixed(1)}× | ${
      server ? `${ms(server.execP50)} / ${ms(server.execP99)} | ${server.hitMean.toFixed(0)} / ${server.readMean.toFixed(0)}` : ' | '
    } |`;
  const a = summarize(r.largeAnn.latencies);
  const e = summarize(r.largeExact.latencies);
  const worstP99 = Math.max(smallLat.p99, a.p99, e.p99);
  const minRecall = Math.min(minSmall, r.largeAnn.recall, r.largeExact.recall);
  return `## Long-term memory recall per tenant (pgvector, exact vs partial HNSW)

Run ${r.at} on ${r.machine}; 1-minute load average ${r.load[0].toFixed(1)} when the timed
queries started, ${r.load[1].toFixed(1)} when they ended (the machine is shared).

${r.opts.tenants} tenants × ${r.opts.items} memories, plus one large tenant with an agent of
${r.opts.large} memories and one of ${r.largeExact.rows} (just under the index threshold of
${r.opts.threshold}); ${r.opts.tenants * r.opts.items + r.opts.large + r.largeExact.rows} rows in one
\`memory_items\` table in the embedded database (PGlite 0.5, Postgres 18 + pgvector 0.8, in
memory, its own process). Vectors: dense 384-dimension unit vectors shaped like a sentence
embedding model's (topic centres sharing a common direction, plus noise; each tenant writes and
asks about its own topics), generated from a seed. k = ${K}; every query runs through
\`db.withTenant\` (role, tenant setting, row-level security) and \`searchMemoryVectors\`, one at a
time, timed as the runner sees it. recall@10 is against brute force computed in the benchmark
process over the same vectors, after the timed queries (ties within 1e-5 count as hits).

Loading took ${(r.loadMs / 1000).toFixed(1)} s; the maintenance function
(\`konstruct_memory_ensure_indexes(${r.opts.threshold})\`) ran in ${(r.indexMs / 1000).toFixed(1)} s: ${r.indexActions.join(', ')}
— the HNSW build of the large agent's partial index (m 16, ef_construction 64).

| group | rows | plan | recall@10 | queries | p50 | p99 | max | p50 / floor | in Postgres p50 / p99 | buffers hit / read per query |
|---|---|---|---|---|---|---|---|---|---|---|
${row(`${r.small.length} small tenants`, String(r.opts.items), r.small.map((g) => g.plan).filter((p, i, xs) => xs.indexOf(p) === i).join('+'), `min ${minSmall.toFixed(3)}, mean ${meanSmall.toFixed(3)}`, smallLat, r.small[0]!.server)}
${row('large tenant, agent 1', String(r.largeAnn.rows), r.largeAnn.plan, r.largeAnn.recall.toFixed(3), a, r.largeAnn.server)}
${row('large tenant, agent 2', String(r.largeExact.rows), r.largeExact.plan, r.largeExact.recall.toFixed(3), e, r.largeExact.server)}
${row('**all queries**', '', '', `**min ${minRecall.toFixed(3)}**`, all)}

"in Postgres": EXPLAIN (ANALYZE, BUFFERS) of 20 further queries of the group (the first small tenant
for the small row), with the search's settings; a "read" is a page not in shared_buffers (PGlite
default: 128 MB), fetched from PGlite's in-memory file system.

Floor, same run: \`db.withTenant\` with \`SELECT 1\`, 300 samples: p50 ${ms(r.floor.p50)}, p99 ${ms(r.floor.p99)}.

Small tenants under recall@10 0.95: **${below}** of ${r.small.length}. Worst group p99: **${ms(worstP99)}** (target ≤ 20 ms).

Plans as EXPLAIN shows them (with the settings the search sets):
- small tenant: ${r.explainSmall}
- large agent: ${r.explainLarge}
`;
}
