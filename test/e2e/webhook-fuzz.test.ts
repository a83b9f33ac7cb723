/**
 * Fuzzing both webhook endpoints with generated bad input: forged, malformed, truncated,
 * oversized and structurally mutated bodies. Vendors retry anything that is not 2xx, so the
 * bridge must answer 4xx for what it refuses (or 200-and-ignore what the vendor would
 * otherwise redeliver forever), publish nothing it has not verified and understood, and still
 * be healthy and working afterwards. The generator is seeded: a failure prints its seed and
 * case so it can be replayed.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { Connection } from 'rabbitmq-client';
import { createLogger, encryptSecret, keyringFrom, KonstructMessageV1, parseContract, secretContext, secretHint } from '@konstruct/core';
import { connectBus, deleteTopology, type Bus, type ConsumerHandle } from '@konstruct/bus';
import { startBridge, loadEnv, type Bridge } from '../../channel-bridge/src/index.ts';
import { seedSlackTenant } from '../support/platform.ts';
import { slackHeaders } from '../support/slack.ts';
import { rng } from '../support/prng.ts';

const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
const SEED = Number(process.env.FUZZ_SEED ?? 20261126);
const CASES_PER_KIND = Number(process.env.FUZZ_CASES ?? 70);

const fixtures = (dir: string) =>
  readdirSync(new URL(`../fixtures/${dir}/`, import.meta.url))
    .filter((f) => f.endsWith('.json'))
    .map((f) => readFileSync(new URL(`../fixtures/${dir}/${f}`, import.meta.url), 'utf8'));

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function randomValue(r: () => number, depth = 0): Json {
  const pick = Math.floor(r() * 12);
  switch (pick) {
    case 0: return null;
    case 1: return r() < 0.5;
    case 2: return Math.floor(r() * 2 ** 53) * (r() < 0.5 ? -1 : 1);
    case 3: return r() * 1e308;
    case 4: return '';
    case 5: return 'x'.repeat(Math.floor(r() * 50_000));
    case 6: return '\u0000\ud800<@U0BOTUSER>\u202e' + String.fromCharCode(...Array.from({ length: 20 }, () => Math.floor(r() * 0xffff)));
    case 7: return depth > 3 ? [] : Array.from({ length: Math.floor(r() * 5) }, () => randomValue(r, depth + 1));
    case 8: return depth > 3 ? {} : { [`k${Math.floor(r() * 9)}`]: randomValue(r, depth + 1) };
    case 9: { let v: Json = 'deep'; for (let i = 0; i < 300; i++) v = [v]; return v; }
    case 10: return '__proto__';
    default: return { __proto__: { polluted: true }, constructor: { prototype: { polluted: true } } } as unknown as Json;
  }
}

/** Replaces, deletes or retypes one node of a JSON tree (returns a new tree). */
function mutate(tree: Json, r: () => number): Json {
  const copy = JSON.parse(JSON.stringify(tree)) as Json;
  const paths: (string | number)[][] = [];
  const walk = (node: Json, path: (string | number)[]) => {
    paths.push(path);
    if (Array.isArray(node)) node.forEach((v, i) => walk(v, [...path, i]));
    else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) walk(v, [...path, k]);
  };
  walk(copy, []);
  const path = paths[Math.floor(r() * paths.length)]!;
  if (path.length === 0) return randomValue(r);
  let parent: any = copy;
  for (const p of path.slice(0, -1)) parent = parent[p];
  const last = path.at(-1)!;
  if (r() < 0.25 && !Array.isArray(parent)) delete parent[last];
  else parent[last] = randomValue(r);
  return copy;
}

interface Case {
  name: string;
  body: string | Buffer;
  headers: Record<string, string>;
  /** May this request lead to a published message? Only when signed and well-formed. */
  mayPublish: boolean;
}

const waSign = (body: string | Buffer, secret: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

function generate(
  r: () => number,
  kind: 'slack' | 'whatsapp',
  samples: string[],
  secret: string,
): Case[] {
  const sign = (body: string | Buffer): Record<string, string> =>
    kind === 'slack'
      ? slackHeaders(body.toString(), secret)
      : { 'content-type': 'application/json', 'x-hub-signature-256': waSign(body, secret) };
  const sample = () => samples[Math.floor(r() * samples.length)]!;
  const cases: Case[] = [];
  for (let i = 0; i < CASES_PER_KIND; i++) {
    const base = sample();
    // Forged: a valid body with a wrong, missing, stale or other-secret signature.
    const forged = i % 4;
    const forgedHeaders: Record<string, string> =
      forged === 0
        ? { 'content-type': 'application/json' }
        : forged === 1
          ? { ...sign(base), ...(kind === 'slack' ? { 'x-slack-signature': `v0=${randomBytes(32).toString('hex')}` } : { 'x-hub-signature-256': `sha256=${randomBytes(32).toString('hex')}` }) }
          : forged === 2
            ? kind === 'slack'
              ? slackHeaders(base, secret, Math.floor(Date.now() / 1000) - 60 * 10)
              : { 'content-type': 'application/json', 'x-hub-signature-256': `sha1=${createHmac('sha1', secret).update(base).digest('hex')}` }
            : kind === 'slack'
              ? slackHeaders(base, 'not-the-secret')
              : { 'content-type': 'application/json', 'x-hub-signature-256': waSign(base, 'not-the-secret') };
    cases.push({ name: `forged-${forged}`, body: base, headers: forgedHeaders, mayPublish: false });
    // Signed, but the body was changed after signing.
    cases.push({ name: 'tampered', body: `${base.slice(0, -1)},"tampered":true}`, headers: sign(base), mayPublish: false });
    // Truncated and signed: never valid JSON.
    const cut = base.slice(0, 1 + Math.floor(r() * (base.length - 2)));
    cases.push({ name: 'truncated', body: cut, headers: sign(cut), mayPublish: false });
    // Random bytes, signed.
    const junk = randomBytes(1 + Math.floor(r() * 2048));
    cases.push({ name: 'random-bytes', body: junk, headers: sign(junk), mayPublish: false });
    // Not JSON at all, or JSON that is not an object.
    const scalar = JSON.stringify(randomValue(r));
    cases.push({ name: 'scalar', body: scalar, headers: sign(scalar), mayPublish: false });
    // Oversized (over the 1 MB body limit), signed.
    if (i % 10 === 0) {
      const big = JSON.stringify({ ...JSON.parse(base), pad: 'x'.repeat(1024 * 1024 + Math.floor(r() * 1024)) });
      cases.push({ name: 'oversized', body: big, headers: sign(big), mayPublish: false });
    }
    // Structurally mutated, correctly signed: may be a real event; if published, it must be a valid message.
    for (let m = 0; m < 3; m++) {
      const mutated = JSON.stringify(mutate(JSON.parse(base), r));
      cases.push({ name: 'mutated', body: mutated, headers: sign(mutated), mayPublish: true });
    }
  }
  return cases;
}

describe('webhook fuzzing', () => {
  let bridge: Bridge;
  let bus: Bus;
  let consumer: ConsumerHandle;
  const published: unknown[] = [];
  const prefix = `test-fuzz-${randomBytes(4).toString('hex')}.`;
  const slackSecret = randomBytes(16).toString('hex');
  const waSecret = randomBytes(16).toString('hex');
  const masterKey = randomBytes(32).toString('base64');
  const samples: Record<'slack' | 'whatsapp', string[]> = { slack: [], whatsapp: [] };

  beforeAll(async () => {
    const databaseUrl = inject('databaseUrl');
    // Our own workspace and number, so no other test file's fixtures are routed here (or ours there).
    const slack = await seedSlackTenant(databaseUrl, masterKey);
    const phoneId = String(100_000_000_000_000 + Math.floor(Math.random() * 899_999_999_999_999));
    samples.slack = fixtures('slack').map((f) => f.replaceAll('T0001ACME', slack.teamId));
    samples.whatsapp = fixtures('whatsapp').map((f) => f.replace(/"phone_number_id":"\d+"/g, `"phone_number_id":"${phoneId}"`));
    const owner = new pg.Client({ connectionString: databaseUrl });
    await owner.connect();
    const tenantId = randomUUID();
    const agentId = randomUUID();
    const id = randomUUID();
    const token = `EAAG${randomBytes(12).toString('hex')}`;
    await owner.query(
      `INSERT INTO tenants (id, slug, name) VALUES ('${tenantId}', 'fuzz-${tenantId}', 'Fuzz');
       INSERT INTO agents (id, tenant_id, name, business_functions, updated_at) VALUES ('${agentId}', '${tenantId}', 'Ava', ARRAY['order status'], now());
       INSERT INTO channel_connections (id, tenant_id, kind, external_id, agent_id, access_token_enc, access_token_hint, updated_at)
       VALUES ('${id}', '${tenantId}', 'whatsapp', '${phoneId}', '${agentId}',
               '${encryptSecret(keyringFrom(masterKey), token, secretContext('channel_connections', 'access_token', id))}', '${secretHint(token)}', now());`,
    );
    await owner.end();

    bridge = await startBridge(
      loadEnv({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        DATABASE_URL: databaseUrl,
        BUS_PREFIX: prefix,
        REDIS_KEY_PREFIX: `konstruct-${prefix}`,
        KONSTRUCT_MASTER_KEY: masterKey,
        PORT: '0',
        SLACK_SIGNING_SECRET: slackSecret,
        SLACK_API_URL: 'http://127.0.0.1:9/api/',
        WHATSAPP_APP_SECRET: waSecret,
        WHATSAPP_VERIFY_TOKEN: 'fuzz-verify-token',
        WHATSAPP_API_URL: 'http://127.0.0.1:9/v21.0',
      }),
      createLogger('channel-bridge', 'silent'),
    );
    bus = await connectBus({ url: AMQP_URL, prefix });
    consumer = await bus.consume('runnerInbound', (m) => {
      published.push(m.body);
      return 'ack';
    });
  });

  afterAll(async () => {
    await consumer?.close();
    await bridge?.close();
    await bus?.close();
    const conn = new Connection(AMQP_URL);
    await deleteTopology(conn, prefix).catch(() => undefined);
    await conn.close();
  });

  const endpoints = [
    { kind: 'slack' as const, path: '/slack/events', secret: () => slackSecret, refused: [400, 401, 403, 413, 415] },
    { kind: 'whatsapp' as const, path: '/whatsapp/webhook', secret: () => waSecret, refused: [400, 401, 403, 413, 415] },
  ];

  it(`answers ${CASES_PER_KIND * 2 * 8}+ bad requests with 4xx (or 200-and-ignored), publishes nothing unverified, and stays healthy`, async () => {
    const r = rng(SEED);
    let total = 0;
    const problems: string[] = [];
    for (const ep of endpoints) {
      const cases = generate(r, ep.kind, samples[ep.kind], ep.secret());
      // First everything that must never be published, then the signed mutations.
      const send = async (c: Case) => {
        total++;
        const res = await fetch(`${bridge.url}${ep.path}`, { method: 'POST', headers: c.headers, body: c.body as BodyInit });
        const text = await res.text();
        const ok = c.mayPublish
          ? res.status === 200 || (res.status >= 400 && res.status < 500)
          : ep.refused.includes(res.status) || (res.status === 200 && /ignored/.test(text));
        if (!ok) problems.push(`${ep.kind} ${c.name} (seed ${SEED}, case ${total}): HTTP ${res.status} ${text.slice(0, 120)}`);
        if (/at .*\.ts:\d+|stack|invocation/i.test(text)) problems.push(`${ep.kind} ${c.name} (case ${total}): the answer leaks internals: ${text.slice(0, 120)}`);
      };
      for (const c of cases.filter((x) => !x.mayPublish)) await send(c);
      await new Promise((resolve) => setTimeout(resolve, 300));
      if (published.length > 0) problems.push(`${ep.kind}: published ${published.length} message(s) from refused requests`);
      for (const c of cases.filter((x) => x.mayPublish)) await send(c);
      // Let any stray publish arrive before checking the next endpoint's refusals.
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (const m of published) {
        const parsed = parseContract(KonstructMessageV1, m);
        if (!parsed.ok) problems.push(`${ep.kind}: published an invalid message: ${parsed.reason}`);
      }
      published.length = 0;
    }
    expect(total).toBeGreaterThanOrEqual(1000);
    expect(problems.slice(0, 20)).toEqual([]);

    // Healthy afterwards: ready, and a genuine event is still accepted and published.
    const ready = await fetch(`${bridge.url}/readyz`);
    expect(ready.status).toBe(200);
    const before = published.length;
    const ts = `${Math.floor(Date.now() / 1000)}.000${Math.floor(Math.random() * 900 + 100)}`;
    const good = JSON.parse(samples.slack.find((f) => f.includes('"app_mention"'))!);
    good.event.ts = good.event.event_ts = ts;
    good.event_id = `EvFuzzAfter${ts}`;
    const body = JSON.stringify(good);
    const res = await fetch(`${bridge.url}/slack/events`, { method: 'POST', headers: slackHeaders(body, slackSecret), body });
    expect(res.status).toBe(200);
    await expect.poll(() => published.length, { timeout: 5_000 }).toBeGreaterThan(before);
  }, 180_000);
});
