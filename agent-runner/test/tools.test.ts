import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, encryptSecret, keyringFrom, secretContext, type MasterKeyring } from '@konstruct/core';
import type { Db, Prisma, TenantScope } from '@konstruct/db';
import { appDb, createTenant, ownerClient } from '../../test/support/db.ts';
import { createToolDefinition } from '../../subgraphs/agent/src/data/tool-definitions.ts';
import { ToolRegistry, type ToolRegistryDeps } from '../src/tools/registry.ts';
import { verifyToolSignature } from '../src/tools/signature.ts';
import type { ResolveHost } from '../src/tools/guarded-request.ts';
import type { HandoffRequest, ToolCallContext, Toolset } from '../src/tools/types.ts';
import type { ToolCall } from '../src/llm/types.ts';

const logger = createLogger('tools-test', 'silent');
const SECRET = `whsec_${randomBytes(18).toString('base64url')}`;

// ---------------------------------------------------------------------------------------------
// A tenant's tool endpoint, for real: a local HTTP server that checks the signature the way a
// tenant would (with node:crypto, independently of the runner's code) and misbehaves on demand.

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Our own HMAC check of the request, computed here from the raw bytes. */
  signatureValid: boolean;
  closedEarly?: boolean;
}

interface ToolServer {
  port: number;
  base: string;
  seen: Seen[];
  close(): Promise<void>;
}

async function startToolServer(): Promise<ToolServer> {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const url = req.url ?? '/';
      const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
      const ts = String(req.headers['x-konstruct-timestamp'] ?? '');
      const payload = req.method === 'GET' || req.method === 'DELETE' ? query : body;
      const expected = `v1=${createHmac('sha256', SECRET).update(`${ts}.${payload}`).digest('hex')}`;
      const entry: Seen = { method: req.method ?? '', url, headers: req.headers, body, signatureValid: req.headers['x-konstruct-signature'] === expected };
      seen.push(entry);
      const path = new URL(url, 'http://tool.invalid').pathname;
      const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
        const text = JSON.stringify(value);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
        res.end(text);
      };
      if (path === '/echo') return json(200, { received: body ? JSON.parse(body) : null, query, signatureValid: entry.signatureValid });
      if (path === '/slow') {
        const t = setTimeout(() => json(200, { late: true }), 3_000);
        timers.add(t);
        res.on('close', () => clearTimeout(t));
        return;
      }
      if (path === '/big') {
        // Far more than any socket buffer holds, without a content-length: the client must cut it off.
        const chunk = Buffer.alloc(16 * 1024, 'a');
        let sent = 0;
        res.on('close', () => (entry.closedEarly = !res.writableFinished));
        res.writeHead(200, { 'content-type': 'application/json' });
        const pump = () => {
          while (sent < 64 * 1024 * 1024 && !res.destroyed) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          if (!res.destroyed) res.end();
        };
        return pump();
      }
      if (path === '/big-declared') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(10 * 1024 * 1024) });
        res.on('close', () => (entry.closedEarly = !res.writableFinished));
        return void res.write('{"partial":');
      }
      if (path === '/status/404') return json(404, { error: 'order 42 not found' });
      if (path === '/status/500') return json(500, { error: 'database exploded' });
      if (path === '/redirect') {
        res.writeHead(302, { location: `http://127.0.0.1:${(server.address() as AddressInfo).port}/echo` });
        return void res.end();
      }
      if (path === '/bad-json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end('{"not": json');
      }
      if (path === '/text') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        return void res.end('Order 42 ships tomorrow.');
      }
      if (path === '/binary') {
        res.writeHead(200, { 'content-type': 'image/png' });
        return void res.end(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
      }
      if (path === '/empty') {
        res.writeHead(204);
        return void res.end();
      }
      json(404, { error: 'no such path' });
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    seen,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

// ---------------------------------------------------------------------------------------------

let owner: pg.Client;
let db: Db;
let server: ToolServer;
let keyring: MasterKeyring;
let tenantA: TenantScope;
let tenantB: TenantScope;
let agentA: string;
let agentB: string;

const ctx: ToolCallContext = { conversationId: randomUUID(), endUserExternalId: 'U0CUSTOMER', messageId: randomUUID() };
const call = (name: string, args: Record<string, unknown> = {}, extra: Partial<ToolCall> = {}): ToolCall => ({
  id: `call_${randomBytes(6).toString('hex')}`,
  name,
  arguments: args,
  ...extra,
});
const errorOf = (content: string) => (JSON.parse(content) as { error: { code: string; message: string } }).error;

const registry = (over: Partial<ToolRegistryDeps> = {}) => new ToolRegistry({ db, keyring, logger, allowPrivateNetwork: true, ttlMs: 0, ...over });

async function createAgent(scope: TenantScope, name: string): Promise<string> {
  const id = randomUUID();
  await owner.query('INSERT INTO agents (id, tenant_id, name) VALUES ($1, $2, $3)', [id, scope.tenantId, name]);
  return id;
}

interface ToolFixture {
  name?: string;
  description?: string;
  kind?: 'http' | 'builtin';
  parameters?: Record<string, unknown>;
  url?: string | null;
  method?: string;
  secret?: string | null;
  /** Seal the secret for another row, as a ciphertext copied between rows would be. */
  secretContextId?: string;
  timeoutMs?: number;
  maxResponseBytes?: number;
  allowPrivateNetwork?: boolean;
}

const ORDER_SCHEMA = {
  type: 'object',
  properties: { order: { type: 'string', minLength: 1 }, express: { type: 'boolean' } },
  required: ['order'],
  additionalProperties: false,
};

/** Inserts a tool under the tenant's scope and assigns it to the agent. */
async function addTool(scope: TenantScope, agentId: string | null, f: ToolFixture): Promise<{ id: string; name: string }> {
  const id = randomUUID();
  const name = f.name ?? `tool_${randomBytes(4).toString('hex')}`;
  const kind = f.kind ?? 'http';
  const secret = f.secret === undefined ? SECRET : f.secret;
  await db.withTenant(scope, async (tx) => {
    await tx.toolDefinition.create({
      data: {
        id,
        tenantId: scope.tenantId,
        name,
        description: f.description ?? `The ${name} tool.`,
        kind,
        parameters: (f.parameters ?? (kind === 'http' ? ORDER_SCHEMA : {})) as Prisma.InputJsonValue,
        url: f.url === undefined ? (kind === 'http' ? `${server.base}/echo` : null) : f.url,
        method: f.method ?? 'POST',
        hmacSecretEnc: secret && kind === 'http' ? encryptSecret(keyring, secret, secretContext('tool_definitions', 'hmac_secret', f.secretContextId ?? id)) : null,
        timeoutMs: f.timeoutMs ?? 5_000,
        maxResponseBytes: f.maxResponseBytes ?? 65_536,
        allowPrivateNetwork: f.allowPrivateNetwork ?? true,
      },
    });
    if (agentId) await tx.agentTool.create({ data: { tenantId: scope.tenantId, agentId, toolId: id } });
  });
  return { id, name };
}

/** A fresh agent in tenant A with exactly the given tools. */
async function agentWith(...tools: ToolFixture[]): Promise<{ agentId: string; names: string[] }> {
  return agentIn(tenantA, ...tools);
}

async function agentIn(scope: TenantScope, ...tools: ToolFixture[]): Promise<{ agentId: string; names: string[] }> {
  const agentId = await createAgent(scope, 'Ava');
  const names: string[] = [];
  for (const t of tools) names.push((await addTool(scope, agentId, t)).name);
  return { agentId, names };
}

async function toolsetWith(tool: ToolFixture, over: Partial<ToolRegistryDeps> = {}): Promise<{ tools: Toolset; name: string }> {
  const { agentId, names } = await agentWith(tool);
  return { tools: await registry(over).forAgent(tenantA, agentId), name: names[0]! };
}

beforeAll(async () => {
  owner = await ownerClient();
  db = appDb(4);
  server = await startToolServer();
  keyring = keyringFrom(randomBytes(32).toString('base64'));
  tenantA = await createTenant(owner, 'Tools A');
  tenantB = await createTenant(owner, 'Tools B');
  agentA = await createAgent(tenantA, 'Ava');
  agentB = await createAgent(tenantB, 'Bob');
});
afterAll(async () => {
  await server?.close();
  await db?.close();
  await owner?.end();
});
beforeEach(() => {
  server.seen.length = 0;
});

describe('tenant-defined HTTP tools', () => {
  it('sends the validated arguments HMAC-signed, with a secret sealed by the agent subgraph, and returns the answer', async () => {
    // Created through the agent subgraph's own data layer: proves the runner opens what the API sealed.
    const created = await createToolDefinition(db, keyring, tenantA, {
      name: `lookup_order_${randomBytes(3).toString('hex')}`,
      description: 'Looks up an order.',
      kind: 'http',
      parameters: ORDER_SCHEMA,
      url: `${server.base}/echo`,
      method: 'POST',
      hmacSecret: SECRET,
      timeoutMs: 5_000,
      allowPrivateNetwork: true,
    });
    if (!('id' in created)) throw new Error(`tool not created: ${JSON.stringify(created)}`);
    const agentId = await createAgent(tenantA, 'Ava');
    await db.withTenant(tenantA, (tx) => tx.agentTool.create({ data: { tenantId: tenantA.tenantId, agentId, toolId: created.id } }));

    const tools = await registry().forAgent(tenantA, agentId);
    expect(tools.specs).toEqual([{ name: created.name, description: 'Looks up an order.', parameters: ORDER_SCHEMA }]);
    const c = call(created.name, { order: 'A-42', express: true });
    const before = Math.floor(Date.now() / 1000);
    const x = await tools.execute(c, ctx);

    expect(x.isError).toBe(false);
    expect(JSON.parse(x.content)).toEqual({ received: { order: 'A-42', express: true }, query: '', signatureValid: true });
    const [req] = server.seen;
    expect(server.seen).toHaveLength(1);
    expect(req).toMatchObject({ method: 'POST', url: '/echo', body: '{"order":"A-42","express":true}', signatureValid: true });
    expect(req!.headers).toMatchObject({
      'content-type': 'application/json',
      'x-konstruct-tool': created.name,
      'x-konstruct-tool-call-id': c.id,
      host: `127.0.0.1:${server.port}`,
    });
    const ts = Number(req!.headers['x-konstruct-timestamp']);
    expect(ts).toBeGreaterThanOrEqual(before - 1);
    // The documented verifier agrees, and rejects a tampered body or a stale timestamp.
    const verify = (payload: string, nowSec?: number) =>
      verifyToolSignature({
        secret: SECRET,
        timestamp: String(ts),
        signatureHeader: String(req!.headers['x-konstruct-signature']),
        payload,
        ...(nowSec !== undefined && { nowSec }),
      });
    expect(verify(req!.body)).toBe(true);
    expect(verify(req!.body.replace('A-42', 'A-43'))).toBe(false);
    expect(verify(req!.body, ts + 301)).toBe(false);

    expect(x.audit).toMatchObject({
      tool: created.name,
      toolId: created.id,
      kind: 'http',
      toolCallId: c.id,
      outcome: 'ok',
      status: 200,
      argumentKeys: ['express', 'order'],
    });
    expect(x.audit.latencyMs).toBeGreaterThanOrEqual(0);
    // Argument values and the secret stay out of the audit data.
    expect(JSON.stringify(x.audit)).not.toContain('A-42');
    expect(JSON.stringify(x.audit)).not.toContain(SECRET);
  });

  it('GET sends the arguments as query parameters and signs the query string', async () => {
    const { tools, name } = await toolsetWith({ method: 'GET', url: `${server.base}/echo?v=1` });
    const x = await tools.execute(call(name, { order: 'A 42/ü' }), ctx);
    expect(x.isError).toBe(false);
    const [req] = server.seen;
    expect(req!.method).toBe('GET');
    expect(req!.body).toBe('');
    expect(new URL(req!.url, 'http://x').searchParams.get('order')).toBe('A 42/ü');
    expect(new URL(req!.url, 'http://x').searchParams.get('v')).toBe('1');
    expect(req!.signatureValid).toBe(true);
  });

  it('a tool without a secret sends a timestamp but no signature', async () => {
    const { tools, name } = await toolsetWith({ secret: null });
    const x = await tools.execute(call(name, { order: 'A-1' }), ctx);
    expect(x.isError).toBe(false);
    expect(server.seen[0]!.headers['x-konstruct-timestamp']).toMatch(/^\d+$/);
    expect(server.seen[0]!.headers['x-konstruct-signature']).toBeUndefined();
  });

  it('a secret sealed for another row does not decrypt: the tool is not called unsigned', async () => {
    const { tools, name } = await toolsetWith({ secretContextId: randomUUID() });
    const x = await tools.execute(call(name, { order: 'A-1' }), ctx);
    expect(x.isError).toBe(true);
    expect(errorOf(x.content).code).toBe('misconfigured');
    expect(server.seen).toHaveLength(0);
  });

  it('validates the arguments against the JSON Schema before any HTTP call', async () => {
    const { tools, name } = await toolsetWith({});
    const cases: [Record<string, unknown>, RegExp][] = [
      [{}, /required property 'order'/],
      [{ order: 42 }, /arguments\.order must be string/],
      [{ order: 'A-1', colour: 'red' }, /additional properties \(colour\)/],
      [{ order: 'A-1', express: 'yes' }, /arguments\.express must be boolean/],
    ];
    for (const [args, message] of cases) {
      const x = await tools.execute(call(name, args), ctx);
      expect(x.isError).toBe(true);
      expect(errorOf(x.content)).toMatchObject({ code: 'invalid_arguments', message: expect.stringMatching(message) });
      expect(x.audit).toMatchObject({ outcome: 'error', errorCode: 'invalid_arguments', kind: 'http' });
    }
    const garbled = await tools.execute(call(name, {}, { invalidArguments: '{"order": "A-1"' }), ctx);
    expect(errorOf(garbled.content)).toMatchObject({ code: 'invalid_arguments', message: expect.stringContaining('not a JSON object') });
    expect(garbled.audit.argumentKeys).toEqual([]);
    expect(server.seen).toHaveLength(0);
  });

  it('times out a slow tool and tells the model', async () => {
    const { tools, name } = await toolsetWith({ url: `${server.base}/slow`, timeoutMs: 200 });
    const t0 = performance.now();
    const x = await tools.execute(call(name, { order: 'A-1' }), ctx);
    const elapsed = performance.now() - t0;
    expect(errorOf(x.content)).toMatchObject({ code: 'timeout', message: expect.stringContaining('200 ms') });
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(2_000);
    expect(x.audit).toMatchObject({ outcome: 'error', errorCode: 'timeout' });
  });

  it('the caller can cancel a call', async () => {
    const { tools, name } = await toolsetWith({ url: `${server.base}/slow`, timeoutMs: 10_000 });
    const x = await tools.execute(call(name, { order: 'A-1' }), { ...ctx, signal: AbortSignal.timeout(100) });
    expect(errorOf(x.content).code).toBe('aborted');
  });

  it('stops reading a response past maxResponseBytes and reports it', async () => {
    const { tools, name } = await toolsetWith({ url: `${server.base}/big`, maxResponseBytes: 1024 });
    const x = await tools.execute(call(name, { order: 'A-1' }), ctx);
    expect(errorOf(x.content)).toMatchObject({ code: 'response_too_large', message: expect.stringContaining('1024 bytes') });
    expect(x.audit).toMatchObject({ status: 200, responseBytes: 1024 });
    // The endpoint was cut off mid-stream, not read to the end.
    await expect.poll(() => server.seen[0]?.closedEarly).toBe(true);
  });

  it('refuses a response whose declared length is over the limit without reading it', async () => {
    const { tools, name } = await toolsetWith({ url: `${server.base}/big-declared`, maxResponseBytes: 4096 });
    const x = await tools.execute(call(name, { order: 'A-1' }), ctx);
    expect(errorOf(x.content).code).toBe('response_too_large');
    expect(x.audit.responseBytes).toBe(0);
    await expect.poll(() => server.seen[0]?.closedEarly).toBe(true);
  });

  it('returns error statuses to the model with the start of the body', async () => {
    const { tools: t404, name: n404 } = await toolsetWith({ url: `${server.base}/status/404` });
    const x404 = await t404.execute(call(n404, { order: 'A-42' }), ctx);
    expect(x404.isError).toBe(true);
    expect(errorOf(x404.content)).toEqual({ code: 'http_status', message: 'the tool answered HTTP 404: {"error":"order 42 not found"}' });
    expect(x404.audit).toMatchObject({ outcome: 'error', errorCode: 'http_status', status: 404 });

    const { tools: t500, name: n500 } = await toolsetWith({ url: `${server.base}/status/500` });
    const x500 = await t500.execute(call(n500, { order: 'A-42' }), ctx);
    expect(errorOf(x500.content).message).toContain('HTTP 500');
    expect(x500.audit.status).toBe(500);
  });

  it('does not follow redirects', async () => {
    const { tools, name } = await toolsetWith({ url: `${server.base}/redirect` });
    const x = await tools.execute(call(name, { order: 'A-1' }), ctx);
    expect(errorOf(x.content)).toMatchObject({ code: 'redirect_refused', message: expect.stringContaining('redirects are not followed') });
    expect(x.audit.status).toBe(302);
    expect(server.seen.map((s) => s.url)).toEqual(['/redirect']);
  });

  it('judges the response body: invalid JSON and binary are errors, text and empty bodies are answers', async () => {
    const run = async (path: string) => {
      const { tools, name } = await toolsetWith({ url: `${server.base}${path}` });
      return tools.execute(call(name, { order: 'A-1' }), ctx);
    };
    const bad = await run('/bad-json');
    expect(errorOf(bad.content)).toEqual({ code: 'invalid_response', message: 'the tool answered with invalid JSON' });
    const binary = await run('/binary');
    expect(errorOf(binary.content)).toMatchObject({ code: 'invalid_response', message: expect.stringContaining('image/png') });
    const text = await run('/text');
    expect(text).toMatchObject({ isError: false, content: 'Order 42 ships tomorrow.' });
    const empty = await run('/empty');
    expect(empty).toMatchObject({ isError: false, content: expect.stringContaining('HTTP 204') });
  });
});

describe('network guard', () => {
  const refusedWith = async (tool: ToolFixture, over: Partial<ToolRegistryDeps> = {}) => {
    const { tools, name } = await toolsetWith(tool, over);
    const x = await tools.execute(call(name, { order: 'A-1' }), ctx);
    expect(x.isError).toBe(true);
    return { error: errorOf(x.content), audit: x.audit };
  };

  it('loopback is refused by default and reached only when the tool and the runner both allow private networks', async () => {
    const url = `${server.base}/echo`;
    // Plain http is itself refused without the development switch.
    expect((await refusedWith({ url, allowPrivateNetwork: false }, { allowPrivateNetwork: false })).error.code).toBe('insecure_url');
    // Over https the address check is what refuses; no connection is attempted.
    const https = `https://127.0.0.1:${server.port}/echo`;
    for (const [toolFlag, runnerFlag] of [
      [false, false],
      [true, false],
      [false, true],
    ] as const) {
      const { error, audit } = await refusedWith({ url: https, allowPrivateNetwork: toolFlag }, { allowPrivateNetwork: runnerFlag });
      expect(error).toMatchObject({ code: 'refused_address', message: expect.stringContaining('127.0.0.1 (loopback)') });
      expect(audit).toMatchObject({ outcome: 'error', errorCode: 'refused_address' });
    }
    expect((await refusedWith({ url, allowPrivateNetwork: true }, { allowPrivateNetwork: false })).error.code).toBe('insecure_url');
    expect(server.seen).toHaveLength(0);

    const { tools, name } = await toolsetWith({ url, allowPrivateNetwork: true }, { allowPrivateNetwork: true });
    expect((await tools.execute(call(name, { order: 'A-1' }), ctx)).isError).toBe(false);
    expect(server.seen).toHaveLength(1);
  });

  it('a DNS name that resolves to a private address is refused (localhost, through the system resolver)', async () => {
    const { error } = await refusedWith({ url: `https://localhost:${server.port}/echo`, allowPrivateNetwork: false }, { allowPrivateNetwork: true });
    expect(error.code).toBe('refused_address');
    expect(error.message).toMatch(/localhost resolves to (127\.0\.0\.1|::1) \(loopback\)/);
  });

  it.each(['[::1]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[::ffff:10.0.0.8]', '[fd00::1]', '[fe80::1]', '10.1.2.3', '192.168.0.10', '0.0.0.0'])(
    'the literal address %s is refused',
    async (host) => {
      const { error } = await refusedWith({ url: `https://${host}:${server.port}/echo`, allowPrivateNetwork: false });
      expect(error.code).toBe('refused_address');
    },
  );

  it('checks every resolved address: one private address among public ones is enough to refuse', async () => {
    const lookups: string[] = [];
    const resolveHost: ResolveHost = async (h) => {
      lookups.push(h);
      return [
        { address: '93.184.216.34', family: 4 },
        { address: '2606:2800:220:1:248:1893:25c8:1946', family: 6 },
        { address: '::ffff:169.254.169.254', family: 6 },
      ];
    };
    const { error } = await refusedWith({ url: 'https://tools.example.test/order', allowPrivateNetwork: false }, { resolveHost });
    expect(error).toMatchObject({ code: 'refused_address', message: expect.stringContaining('::ffff:169.254.169.254 (cloud metadata)') });
    expect(lookups).toEqual(['tools.example.test']);
  });

  it('cloud metadata stays refused even when private networks are allowed', async () => {
    const { error } = await refusedWith({ url: 'http://169.254.169.254/latest/meta-data/', allowPrivateNetwork: true }, { allowPrivateNetwork: true });
    expect(error).toMatchObject({ code: 'refused_address', message: expect.stringContaining('cloud metadata') });
  });

  it('connects to the address it checked (resolved once) and keeps the name for the Host header', async () => {
    let lookups = 0;
    const resolveHost: ResolveHost = async () => {
      lookups += 1;
      // A rebinding server would answer differently the second time; there must be no second time.
      return lookups === 1 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '10.9.9.9', family: 4 }];
    };
    const { tools, name } = await toolsetWith({ url: `http://tools.example.test:${server.port}/echo`, allowPrivateNetwork: true }, { resolveHost });
    const x = await tools.execute(call(name, { order: 'A-1' }), ctx);
    expect(x.isError).toBe(false);
    expect(lookups).toBe(1);
    expect(server.seen[0]!.headers.host).toBe(`tools.example.test:${server.port}`);
  });

  it('an unresolvable host is a DNS error for the model', async () => {
    const resolveHost: ResolveHost = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    const { error } = await refusedWith({ url: 'https://nowhere.example.test/x' }, { resolveHost });
    expect(error).toMatchObject({ code: 'dns_error', message: expect.stringContaining('ENOTFOUND') });
  });
});

describe('registry', () => {
  it("an agent sees only its own tenant's tools that are assigned to it", async () => {
    const a1 = await addTool(tenantA, agentA, { name: 'a_orders' });
    await addTool(tenantA, null, { name: 'a_unassigned' });
    const a2 = await addTool(tenantA, agentA, { name: 'a_refunds' });
    await addTool(tenantB, agentB, { name: 'b_secret_tool' });

    const reg = registry();
    const mine = await reg.forAgent(tenantA, agentA);
    expect(mine.specs.map((s) => s.name)).toEqual([a1.name, a2.name]);
    // Tenant B's scope cannot read tenant A's assignments, even knowing the agent id…
    expect((await reg.forAgent(tenantB, agentA)).specs).toEqual([]);
    // …and tenant A cannot name tenant B's agent to get B's tools.
    expect((await reg.forAgent(tenantA, agentB)).specs).toEqual([]);
    expect((await reg.forAgent(tenantB, agentB)).specs.map((s) => s.name)).toEqual(['b_secret_tool']);
    // Nor can the model call another tenant's tool by name.
    const x = await mine.execute(call('b_secret_tool', { order: 'x' }), ctx);
    expect(errorOf(x.content)).toMatchObject({ code: 'unknown_tool', message: expect.stringContaining('a_orders, a_refunds') });
    expect(x.audit).toMatchObject({ kind: 'unknown', toolId: null, outcome: 'error' });
  });

  it('caches an agent’s tools briefly and reloads after the TTL or an invalidation', async () => {
    let queries = 0;
    const counting: Db = {
      ...db,
      withTenant: (scope, fn) => {
        queries += 1;
        return db.withTenant(scope, fn);
      },
    };
    let now = 1_000;
    const { agentId } = await agentWith({ name: 'cached_one' });
    const reg = registry({ db: counting, ttlMs: 5_000, now: () => now });
    await Promise.all([reg.forAgent(tenantA, agentId), reg.forAgent(tenantA, agentId)]);
    expect(queries).toBe(1);
    await addTool(tenantA, agentId, { name: 'cached_two' });
    expect((await reg.forAgent(tenantA, agentId)).specs.map((s) => s.name)).toEqual(['cached_one']);
    now += 5_001;
    expect((await reg.forAgent(tenantA, agentId)).specs.map((s) => s.name)).toEqual(['cached_one', 'cached_two']);
    expect(queries).toBe(2);
    reg.invalidate(tenantA.tenantId, agentId);
    await reg.forAgent(tenantA, agentId);
    expect(queries).toBe(3);
  });

  it('does not offer a tool whose parameters are not a usable JSON Schema', async () => {
    const { agentId } = await agentWith(
      { name: 'broken_schema', parameters: { type: 'object', properties: { a: { $ref: '#/definitions/missing' } } } },
      { name: 'fine_schema' },
    );
    expect((await registry().forAgent(tenantA, agentId)).specs.map((s) => s.name)).toEqual(['fine_schema']);
  });
});

describe('built-in tools', () => {
  const fixedClock = () => new Date('2026-03-01T12:34:56.000Z');
  // Built-ins are tool definitions named after them, and names are unique per tenant.
  let scope: TenantScope;
  beforeEach(async () => {
    scope = await createTenant(owner, 'Builtins');
  });

  it('current_time answers in UTC and in a validated IANA zone', async () => {
    const { agentId } = await agentIn(scope, { name: 'current_time', kind: 'builtin', description: 'What time is it?' });
    const tools = await registry({ clock: fixedClock }).forAgent(scope, agentId);
    expect(tools.specs).toEqual([{ name: 'current_time', description: 'What time is it?', parameters: expect.objectContaining({ type: 'object' }) }]);

    const utc = await tools.execute(call('current_time'), ctx);
    expect(JSON.parse(utc.content)).toEqual({ utc: '2026-03-01T12:34:56.000Z', timezone: 'UTC', local: '2026-03-01T12:34:56+00:00', weekday: 'Sunday' });
    const india = await tools.execute(call('current_time', { timezone: 'Asia/Kolkata' }), ctx);
    expect(JSON.parse(india.content)).toMatchObject({ timezone: 'Asia/Kolkata', local: '2026-03-01T18:04:56+05:30' });
    expect(india.audit).toMatchObject({ tool: 'current_time', kind: 'builtin', outcome: 'ok', argumentKeys: ['timezone'] });

    for (const bad of ['Mars/Olympus_Mons', 'GMT+5; DROP TABLE', '+05:00']) {
      const x = await tools.execute(call('current_time', { timezone: bad }), ctx);
      expect(x.isError).toBe(true);
      expect(errorOf(x.content)).toMatchObject({ code: 'invalid_arguments', message: expect.stringContaining('unknown time zone') });
    }
    expect(errorOf((await tools.execute(call('current_time', { timezone: 5 }), ctx)).content).code).toBe('invalid_arguments');
  });

  it('memory_search delegates to the memory module with the scope, agent, end user, query and k', async () => {
    const { agentId } = await agentIn(scope, { name: 'memory_search', kind: 'builtin' });
    const seen: unknown[][] = [];
    const tools = await registry({
      searchMemory: async (...args) => {
        seen.push(args);
        return [
          { text: 'Prefers email over phone', score: 0.91234, createdAt: new Date('2026-01-02T03:04:05Z') },
          { text: 'Lives in Oslo' },
        ];
      },
    }).forAgent(scope, agentId);
    const x = await tools.execute(call('memory_search', { query: 'contact preference', k: 2 }), ctx);
    expect(seen).toEqual([[scope, agentId, 'U0CUSTOMER', 'contact preference', 2]]);
    expect(JSON.parse(x.content)).toEqual({
      memories: [{ text: 'Prefers email over phone', score: 0.912, rememberedAt: '2026-01-02T03:04:05.000Z' }, { text: 'Lives in Oslo' }],
    });
    // Default k, and a failing memory is an error result, not a throw.
    await tools.execute(call('memory_search', { query: 'x' }), ctx);
    expect(seen[1]![4]).toBe(5);
    const failing = await registry({ searchMemory: () => Promise.reject(new Error('embedder down')) }).forAgent(scope, agentId);
    const f = await failing.execute(call('memory_search', { query: 'x' }), ctx);
    expect(f).toMatchObject({ isError: true, audit: { outcome: 'error', errorCode: 'failed' } });
    expect(f.content).not.toContain('embedder down');
  });

  it('handoff_to_human delegates to the escalation module and confirms', async () => {
    const { agentId } = await agentIn(scope, { name: 'handoff_to_human', kind: 'builtin' });
    const requests: HandoffRequest[] = [];
    const tools = await registry({
      requestHandoff: async (req) => {
        requests.push(req);
        return { ok: true, handoffId: 'h-1' };
      },
    }).forAgent(scope, agentId);
    const c = call('handoff_to_human', { reason: 'Refund over my limit', summary: 'Customer wants a 900 EUR refund for order A-42.' });
    const x = await tools.execute(c, ctx);
    expect(requests).toEqual([
      {
        scope: scope,
        agentId,
        conversationId: ctx.conversationId,
        endUserExternalId: 'U0CUSTOMER',
        messageId: ctx.messageId,
        reason: 'Refund over my limit',
        summary: 'Customer wants a 900 EUR refund for order A-42.',
        toolCallId: c.id,
      },
    ]);
    expect(x).toMatchObject({ isError: false, handoff: { handoffId: 'h-1' } });
    expect(JSON.parse(x.content)).toMatchObject({ status: 'handed_off', handoffId: 'h-1' });
    expect(errorOf((await tools.execute(call('handoff_to_human', { reason: 'x' }), ctx)).content).code).toBe('invalid_arguments');

    const refusing = await registry({ requestHandoff: async () => ({ ok: false, error: 'no human channel configured' }) }).forAgent(scope, agentId);
    const r = await refusing.execute(c, ctx);
    expect(errorOf(r.content)).toEqual({ code: 'failed', message: 'handoff failed: no human channel configured' });
  });

  it('offers a built-in only when its dependency is present; unknown built-ins are skipped; extra built-ins can be added', async () => {
    const { agentId } = await agentIn(scope, 
      { name: 'memory_search', kind: 'builtin' },
      { name: 'handoff_to_human', kind: 'builtin' },
      { name: 'teleport', kind: 'builtin' },
      { name: 'current_time', kind: 'builtin' },
    );
    expect((await registry().forAgent(scope, agentId)).specs.map((s) => s.name)).toEqual(['current_time']);
    const reg = registry({ searchMemory: async () => [], requestHandoff: async () => ({ ok: true, handoffId: null }) });
    expect((await reg.forAgent(scope, agentId)).specs.map((s) => s.name)).toEqual(['memory_search', 'handoff_to_human', 'current_time']);

    const bare = await createAgent(scope, 'Bare');
    const withHandoff = await reg.forAgent(scope, bare, { builtins: ['handoff_to_human', 'current_time'] });
    expect(withHandoff.specs.map((s) => s.name)).toEqual(['handoff_to_human', 'current_time']);
    expect(withHandoff.specs[0]!.description).toMatch(/human colleague/);
  });
});
