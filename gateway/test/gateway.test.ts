import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { hash } from '@node-rs/argon2';
import { SignJWT } from 'jose';
import { signOperatorToken } from '@konstruct/core';
import { createTenant, databaseUrl, ownerClient } from '../../test/support/db.ts';
import { startFederation, type Federation } from '../../test/support/federation.ts';

const LOGIN = `mutation($e:String!,$p:String!){ login(email:$e,password:$p){ __typename ... on Session { token } ... on ValidationError { message } } }`;

describe('gateway', () => {
  let fed: Federation;
  let owner: pg.Client;
  let a: string;
  let b: string;
  const email = `admin-${randomUUID()}@example.test`;
  const password = 'a long and proper password';
  let token: string;

  beforeAll(async () => {
    fed = await startFederation(databaseUrl());
    owner = await ownerClient();
    a = (await createTenant(owner, 'Acme')).tenantId;
    b = (await createTenant(owner, 'Beta')).tenantId;
    const opId = randomUUID();
    await owner.query(`INSERT INTO operators (id, email, password_hash, display_name) VALUES ($1, $2, $3, 'Ada')`, [opId, email, await hash(password)]);
    await owner.query(`INSERT INTO memberships (id, tenant_id, operator_id, role, accepted_at) VALUES ($1, $2, $3, 'admin', now())`, [randomUUID(), a, opId]);
    const login = await fed.gql(LOGIN, { e: email, p: password });
    expect(login.data.login.__typename).toBe('Session');
    token = login.data.login.token;
  });
  afterAll(async () => {
    await owner?.end();
    await fed?.close();
  });

  const bearer = (t: string, tenant?: string) => ({ authorization: `Bearer ${t}`, ...(tenant ? { 'x-konstruct-tenant': tenant } : {}) });

  it('logs an operator in and acts on their only tenant', async () => {
    const r = await fed.gql(`{ me { actorKind role tenantId operator { email } } tenant { id name } }`, {}, bearer(token));
    expect(r.errors).toBeUndefined();
    expect(r.data.me).toEqual({ actorKind: 'OPERATOR', role: 'ADMIN', tenantId: a, operator: { email } });
    expect(r.data.tenant).toEqual({ id: a, name: 'Acme' });
  });

  it('refuses a tenant the operator is not a member of', async () => {
    const r = await fed.gql(`{ tenant { id } }`, {}, bearer(token, b));
    expect(r.status).toBe(403);
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('answers UNAUTHENTICATED to forged, expired and malformed credentials', async () => {
    const forged = (await signOperatorToken('x'.repeat(64), { sub: randomUUID(), pa: true, m: {} })).token;
    const expired = await new SignJWT({ pa: false, m: { [a]: 'admin' } })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(randomUUID())
      .setIssuer('konstruct')
      .setAudience('konstruct-api')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(new TextEncoder().encode(fed.jwtSecret));
    for (const [headers, message] of [
      [bearer(forged), 'invalid session token'],
      [bearer(expired), 'session expired; log in again'],
      [{ authorization: 'Basic abc' }, 'Authorization must be "Bearer <token>"'],
      [{ 'x-api-key': 'kst_nope' }, 'invalid API key'],
    ] as const) {
      const r = await fed.gql(`{ me { actorKind } }`, {}, headers);
      expect(r.status).toBe(401);
      expect(r.errors?.[0]).toMatchObject({ message, extensions: { code: 'UNAUTHENTICATED' } });
      expect(r.data ?? null).toBeNull();
    }
  });

  it('authenticates partners with API keys bound to their tenant, and stops revoked keys', async () => {
    const created = await fed.gql(
      `mutation{ createApiKey(name:"crm", scopes:[READ]){ ... on ApiKeyCreated { key apiKey { id } } } }`,
      {},
      bearer(token),
    );
    const { key, apiKey } = created.data.createApiKey;
    const r = await fed.gql(`{ me { actorKind role tenantId } }`, {}, { 'x-api-key': key });
    expect(r.data.me).toEqual({ actorKind: 'API_KEY', role: 'VIEWER', tenantId: a });
    // A read-only key cannot write.
    const w = await fed.gql(`mutation{ createApiKey(name:"x", scopes:[READ]){ __typename } }`, {}, { authorization: `Bearer ${key}` });
    expect(w.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    await fed.gql(`mutation($id:ID!){ revokeApiKey(id:$id){ __typename } }`, { id: apiKey.id }, bearer(token));
    const after = await fed.gql(`{ me { actorKind } }`, {}, { 'x-api-key': key });
    expect(after.status).toBe(401);
    expect(after.errors?.[0]?.message).toBe('this API key has been revoked');
    const row = (await owner.query('SELECT last_used_at FROM api_keys WHERE id = $1', [apiKey.id])).rows[0];
    expect(row.last_used_at).not.toBeNull();
  });

  it('joins entities across subgraphs in one query', async () => {
    const made = await fed.gql(
      `mutation{ createAgent(input:{ name:"Ava", role:"front desk", businessFunctions:["orders"] }){ __typename ... on Agent { id } } }`,
      {},
      bearer(token),
    );
    expect(made.data?.createAgent?.__typename, JSON.stringify(made.errors)).toBe('Agent');
    const r = await fed.gql(`{ tenant { name agents { items { id name } } } }`, {}, bearer(token));
    expect(r.errors).toBeUndefined();
    expect(r.data.tenant.name).toBe('Acme');
    expect(r.data.tenant.agents.items).toEqual([{ id: made.data.createAgent.id, name: 'Ava' }]);
  });

  it('rejects abusive queries before running them', async () => {
    let deep = 'id';
    for (let i = 0; i < 50; i++) deep = `tenant { ${deep} }`;
    const depth = await fed.gql(`{ ${deep} }`, {}, bearer(token));
    expect(depth.status, JSON.stringify(depth.errors)).toBe(400);
    expect(depth.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');

    const aliases = Array.from({ length: 1000 }, (_, i) => `a${i}: me { actorKind }`).join(' ');
    const many = await fed.gql(`{ ${aliases} }`, {}, bearer(token));
    expect(many.status).toBe(400);
    expect(many.errors?.length).toBeGreaterThan(0);
    expect(many.data ?? null).toBeNull();

    const huge = await fetch(`${fed.gatewayUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(token) },
      body: JSON.stringify({ query: '{ me { actorKind } }', variables: { pad: 'x'.repeat(200_000) } }),
    });
    expect(huge.status).toBe(413);

    const chunked = await fetch(`${fed.gatewayUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(token) },
      // A stream has no content-length: the limit must hold while reading, too.
      body: new Blob(['{"query":"{ me { actorKind } }","variables":{"pad":"', 'x'.repeat(200_000), '"}}']).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);

    const notJson = await fetch(`${fed.gatewayUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(token) },
      body: '{"query": "{ me { actorKind } }"',
    });
    expect(notJson.status).toBe(400);
    expect((await notJson.json()).errors[0].message).toBe('request body is not valid JSON');

    const csrf = await fetch(`${fed.gatewayUrl}/graphql?query=${encodeURIComponent('{ me { actorKind } }')}`, { headers: bearer(token) });
    expect(csrf.status).toBe(400);
    expect(await csrf.text()).toMatch(/CSRF|preflight/i);
  });

  it('explains unknown fields and wrong types without internals', async () => {
    const unknown = await fed.gql(`{ me { nope } }`, {}, bearer(token));
    expect(unknown.status).toBe(400);
    expect(unknown.errors?.[0]?.message).toMatch(/Cannot query field "nope" on type "Me"/);
    const wrongType = await fed.gql(`mutation{ createApiKey(name: 5, scopes:[READ]){ __typename } }`, {}, bearer(token));
    expect(wrongType.status).toBe(400);
    expect(JSON.stringify(wrongType.errors)).not.toMatch(/stack|at \w+ \(/);
  });
});

describe('gateway rate limits', () => {
  let fed: Federation;
  beforeAll(async () => {
    fed = await startFederation(databaseUrl(), { GATEWAY_ANONYMOUS_RATE_LIMIT_PER_MINUTE: '5' });
  });
  afterAll(async () => {
    await fed?.close();
  });

  it('answers 429 with Retry-After once a caller is over its limit', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 8; i++) {
      const r = await fed.gql(`{ me { actorKind } }`);
      statuses.push(r.status);
      if (r.status === 429) {
        retryAfter = r.headers.get('retry-after');
        expect(r.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
      }
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });
});

describe('gateway in production mode', () => {
  let fed: Federation;
  beforeAll(async () => {
    fed = await startFederation(databaseUrl(), { NODE_ENV: 'production' });
  });
  afterAll(async () => {
    await fed?.close();
  });

  it('turns introspection and field suggestions off', async () => {
    const intro = await fed.gql(`{ __schema { queryType { name } } }`);
    expect(intro.status).toBe(400);
    expect(intro.errors?.[0]?.message).toMatch(/introspection/i);
    const typo = await fed.gql(`{ me { actorKnd } }`);
    expect(typo.status).toBe(400);
    expect(typo.errors?.[0]?.message).toMatch(/Cannot query field "actorKnd"/);
    expect(typo.errors?.[0]?.message).not.toMatch(/Did you mean/);
  });
});
