import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { keyringFrom, verifyOperatorToken, hashApiKeySecret, parseApiKey } from '@konstruct/core';
import { ensureFirstOperator, schema } from '../src/index.ts';
import { appDb, createTenant, ownerClient } from '../../../test/support/db.ts';
import { as, startTestSubgraph } from '../../../test/support/subgraph.ts';

const jwtSecret = randomBytes(32).toString('hex');
const masterKey = randomBytes(32).toString('base64');

describe('tenancy subgraph', () => {
  let sg: Awaited<ReturnType<typeof startTestSubgraph>>;
  let owner: pg.Client;
  let a: string;
  let b: string;

  beforeAll(async () => {
    sg = await startTestSubgraph('tenancy', schema, { jwtSecret, keyring: keyringFrom(masterKey) });
    owner = await ownerClient();
    a = (await createTenant(owner)).tenantId;
    b = (await createTenant(owner)).tenantId;
  });
  afterAll(async () => {
    await owner?.end();
    await sg?.close();
  });

  describe('authentication at the subgraph', () => {
    it('refuses a request without the gateway identity', async () => {
      const r = await sg.call('{ me { actorKind } }', {}, null);
      expect(r.status).toBe(401);
      expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(r.data ?? null).toBeNull();
    });
    it('refuses an identity signed with another secret', async () => {
      const r = await sg.call('{ me { actorKind } }', {}, as.platform(), { forgeWith: randomBytes(32).toString('hex') });
      expect(r.status).toBe(401);
      expect(r.errors?.[0]?.message).toBe('invalid gateway signature');
    });
  });

  describe('operators and login', () => {
    const email = `root-${randomUUID()}@example.test`;
    const password = 'correct horse battery staple';

    it('creates the first platform operator once, and logs in with a token carrying memberships', async () => {
      // The shared test database may already have a platform operator from another test file.
      const db = appDb(1);
      await owner.query(`UPDATE operators SET is_platform_admin = false WHERE is_platform_admin`);
      expect(await ensureFirstOperator(db, email, password)).toBe(true);
      expect(await ensureFirstOperator(db, `other-${email}`, password)).toBe(false);
      await db.close();
      const opId = (await owner.query('SELECT id FROM operators WHERE email = $1', [email])).rows[0].id;
      await owner.query(`INSERT INTO memberships (id, tenant_id, operator_id, role, accepted_at) VALUES ($1, $2, $3, 'viewer', now())`, [randomUUID(), a, opId]);

      const bad = await sg.call(`mutation($e:String!,$p:String!){ login(email:$e,password:$p){ __typename ... on ValidationError { message } } }`, { e: email, p: 'wrong password!' }, as.anonymous());
      expect(bad.data.login).toEqual({ __typename: 'ValidationError', message: 'invalid email or password' });
      const unknown = await sg.call(`mutation($e:String!,$p:String!){ login(email:$e,password:$p){ __typename } }`, { e: `nobody-${email}`, p: password }, as.anonymous());
      expect(unknown.data.login.__typename).toBe('ValidationError');

      const ok = await sg.call(
        `mutation($e:String!,$p:String!){ login(email:$e,password:$p){ __typename ... on Session { token expiresAt operator { email isPlatformAdmin } } } }`,
        { e: email.toUpperCase(), p: password },
        as.anonymous(),
      );
      expect(ok.data.login.__typename).toBe('Session');
      expect(ok.data.login.operator).toEqual({ email, isPlatformAdmin: true });
      const claims = await verifyOperatorToken(jwtSecret, ok.data.login.token);
      expect(claims).toEqual({ sub: opId, pa: true, m: { [a]: 'viewer' } });
      await expect(verifyOperatorToken(randomBytes(32).toString('hex'), ok.data.login.token)).rejects.toThrow();
      const stored = (await owner.query('SELECT password_hash FROM operators WHERE id = $1', [opId])).rows[0].password_hash;
      expect(stored).toMatch(/^\$argon2id\$/);
    });

    it('lets only platform operators create operators and tenants', async () => {
      const q = `mutation($i:CreateTenantInput!){ createTenant(input:$i){ __typename ... on Tenant { slug } ... on ValidationError { field message } } }`;
      const slug = `t-${randomBytes(4).toString('hex')}`;
      const denied = await sg.call(q, { i: { slug, name: 'X' } }, as.admin(a));
      expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const made = await sg.call(q, { i: { slug, name: 'Bakery' } }, as.platform());
      expect(made.data.createTenant).toEqual({ __typename: 'Tenant', slug });
      const dup = await sg.call(q, { i: { slug, name: 'Again' } }, as.platform());
      expect(dup.data.createTenant).toEqual({ __typename: 'ValidationError', field: 'slug', message: `slug ${slug} is taken` });
      const invalid = await sg.call(q, { i: { slug: '-Bad Slug', name: 'X' } }, as.platform());
      expect(invalid.data.createTenant.field).toBe('slug');

      const op = `mutation($e:String!){ createOperator(email:$e,password:"long enough password",displayName:"Op"){ __typename } }`;
      expect((await sg.call(op, { e: `x-${randomUUID()}@example.test` }, as.admin(a))).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect((await sg.call(op, { e: `x-${randomUUID()}@example.test` }, as.platform())).data.createOperator.__typename).toBe('Operator');
    });

    it('lists only the current tenant and its members', async () => {
      const t = await sg.call(`{ tenant { id } tenants { items { id } } }`, {}, as.admin(a));
      expect(t.errors?.[0]?.extensions?.code).toBe('FORBIDDEN'); // tenants is platform-only
      const own = await sg.call(`query($id:ID){ tenant(id:$id) { id } }`, { id: b }, as.admin(a));
      expect(own.data.tenant).toBeNull();
      const mine = await sg.call(`{ tenant { id } }`, {}, as.admin(a));
      expect(mine.data.tenant.id).toBe(a);
    });
  });

  describe('invitations', () => {
    it('invites without revealing who has an account, and grants nothing until accepted', async () => {
      const email = `invitee-${randomUUID()}@example.test`;
      const password = 'invitee password long';
      const opId = randomUUID();
      const { hash } = await import('@node-rs/argon2');
      await owner.query(`INSERT INTO operators (id, email, password_hash, display_name) VALUES ($1, $2, $3, 'Secret Name')`, [opId, email, await hash(password)]);
      await owner.query(`INSERT INTO memberships (id, tenant_id, operator_id, role, accepted_at) VALUES ($1, $2, $3, 'admin', now())`, [randomUUID(), b, opId]);

      const invite = `mutation($e:String!){ addMember(email:$e, role:VIEWER){ __typename ... on InvitationSent { email role } } }`;
      const known = await sg.call(invite, { e: email }, as.admin(a));
      const unknown = await sg.call(invite, { e: `nobody-${randomUUID()}@example.test` }, as.admin(a));
      expect(known.data.addMember).toEqual({ __typename: 'InvitationSent', email, role: 'VIEWER' });
      expect(Object.keys(unknown.data.addMember)).toEqual(Object.keys(known.data.addMember));
      expect(JSON.stringify(known)).not.toContain('Secret Name');
      expect(JSON.stringify(known)).not.toContain(opId);

      // Before acceptance the tenant sees the invitation, not the person.
      const members = await sg.call(`{ members { operator { id } } invitations { email role } }`, {}, as.admin(a));
      expect(members.data.members.map((m: { operator: { id: string } }) => m.operator.id)).not.toContain(opId);
      expect(members.data.invitations).toContainEqual({ email, role: 'VIEWER' });

      const login = `mutation($e:String!,$p:String!){ login(email:$e,password:$p){ ... on Session { token } } }`;
      const before = await verifyOperatorToken(jwtSecret, (await sg.call(login, { e: email, p: password }, as.anonymous())).data.login.token);
      expect(before.m).toEqual({ [b]: 'admin' });

      const operatorIdentity = { ...as.anonymous(), actor: { kind: 'operator' as const, id: opId } };
      const pending = await sg.call(`{ me { invitations { tenant { id } role } } }`, {}, operatorIdentity);
      expect(pending.data.me.invitations).toEqual([{ tenant: { id: a }, role: 'VIEWER' }]);

      const accept = `mutation($t:ID!){ acceptInvitation(tenantId:$t){ __typename ... on Session { token } } }`;
      expect((await sg.call(accept, { t: b }, operatorIdentity)).data.acceptInvitation.__typename).toBe('NotFound');
      const accepted = await sg.call(accept, { t: a }, operatorIdentity);
      expect((await verifyOperatorToken(jwtSecret, accepted.data.acceptInvitation.token)).m).toEqual({ [a]: 'viewer', [b]: 'admin' });
      const after = await sg.call(`{ members { operator { id displayName } } invitations { email } }`, {}, as.admin(a));
      expect(after.data.members).toContainEqual({ operator: { id: opId, displayName: 'Secret Name' } });
      expect(after.data.invitations).not.toContainEqual({ email });
    });
  });

  describe('API keys', () => {
    it('shows the key once, stores only a hash, and revokes', async () => {
      const r = await sg.call(
        `mutation{ createApiKey(name:"partner", scopes:[READ, WRITE]){ __typename ... on ApiKeyCreated { key apiKey { id prefix scopes } } } }`,
        {},
        as.admin(a),
      );
      const created = r.data.createApiKey;
      expect(created.__typename).toBe('ApiKeyCreated');
      const parsed = parseApiKey(created.key)!;
      expect(parsed.prefix).toBe(created.apiKey.prefix);
      const row = (await owner.query('SELECT * FROM api_keys WHERE id = $1', [created.apiKey.id])).rows[0];
      expect(row.key_hash).toBe(hashApiKeySecret(parsed.secret));
      expect(JSON.stringify(row)).not.toContain(parsed.secret);

      const listed = await sg.call(`{ apiKeys { id prefix } }`, {}, as.viewer(a));
      expect(JSON.stringify(listed.data)).not.toContain(parsed.secret);
      expect(listed.data.apiKeys.map((k: { id: string }) => k.id)).toContain(created.apiKey.id);
      expect((await sg.call(`{ apiKeys { id } }`, {}, as.admin(b))).data.apiKeys.map((k: { id: string }) => k.id)).not.toContain(created.apiKey.id);

      const revokeQ = `mutation($id:ID!){ revokeApiKey(id:$id){ __typename ... on ApiKey { revokedAt } } }`;
      expect((await sg.call(revokeQ, { id: created.apiKey.id }, as.admin(b))).data.revokeApiKey.__typename).toBe('NotFound');
      expect((await sg.call(revokeQ, { id: created.apiKey.id }, as.viewer(a))).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const revoked = await sg.call(revokeQ, { id: created.apiKey.id }, as.admin(a));
      expect(revoked.data.revokeApiKey.revokedAt).toMatch(/^\d{4}-/);
    });
  });

  describe('channel connections', () => {
    it('keeps secrets write-only and encrypted, shows only whether set and the last four', async () => {
      const token = `xoxb-${randomBytes(12).toString('hex')}`;
      const teamId = `T${randomBytes(4).toString('hex').toUpperCase()}`;
      const r = await sg.call(
        `mutation($i:ChannelConnectionInput!){ createChannelConnection(input:$i){ __typename ... on ChannelConnection { id botToken { isSet last4 } accessToken { isSet } } } }`,
        { i: { kind: 'SLACK', externalId: teamId, botToken: token } },
        as.admin(a),
      );
      const c = r.data.createChannelConnection;
      expect(c.botToken).toEqual({ isSet: true, last4: token.slice(-4) });
      expect(c.accessToken).toEqual({ isSet: false });
      const row = (await owner.query('SELECT * FROM channel_connections WHERE id = $1', [c.id])).rows[0];
      expect(row.bot_token_enc).toMatch(/^kv1\./);
      expect(JSON.stringify(row)).not.toContain(token);
      const fields = await sg.call(`{ __type(name:"ChannelConnection"){ fields { name } } }`, {}, as.admin(a));
      expect(fields.data.__type.fields.map((f: { name: string }) => f.name).filter((n: string) => /enc|secret$/i.test(n))).toEqual(['signingSecret']);

      const again = await sg.call(
        `mutation($i:ChannelConnectionInput!){ createChannelConnection(input:$i){ __typename ... on ValidationError { field } } }`,
        { i: { kind: 'SLACK', externalId: teamId } },
        as.admin(b),
      );
      expect(again.data.createChannelConnection).toEqual({ __typename: 'ValidationError', field: 'externalId' });
    });

    it("refuses another tenant's agent and another tenant's connection", async () => {
      const agentB = randomUUID();
      await owner.query(`INSERT INTO agents (id, tenant_id, name, updated_at) VALUES ($1, $2, 'B agent', now())`, [agentB, b]);
      const r = await sg.call(
        `mutation($i:ChannelConnectionInput!){ createChannelConnection(input:$i){ __typename ... on ValidationError { field } } }`,
        { i: { kind: 'WHATSAPP', externalId: `P${randomBytes(4).toString('hex')}`, agentId: agentB } },
        as.admin(a),
      );
      expect(r.data.createChannelConnection).toEqual({ __typename: 'ValidationError', field: 'agentId' });

      const connB = (await sg.call(
        `mutation($i:ChannelConnectionInput!){ createChannelConnection(input:$i){ ... on ChannelConnection { id } } }`,
        { i: { kind: 'WHATSAPP', externalId: `P${randomBytes(4).toString('hex')}`, accessToken: 'EAAG-access-token-1234' } },
        as.admin(b),
      )).data.createChannelConnection.id;
      const upd = await sg.call(`mutation($id:ID!){ updateChannelConnection(id:$id, input:{ displayName:"mine" }){ __typename } }`, { id: connB }, as.admin(a));
      expect(upd.data.updateChannelConnection.__typename).toBe('NotFound');
      const del = await sg.call(`mutation($id:ID!){ deleteChannelConnection(id:$id){ __typename } }`, { id: connB }, as.admin(a));
      expect(del.data.deleteChannelConnection.__typename).toBe('NotFound');
      expect((await owner.query('SELECT count(*)::int AS n FROM channel_connections WHERE id = $1', [connB])).rows[0].n).toBe(1);
    });
  });

  describe('rate limits', () => {
    it('keeps one tenant-wide setting, validates, and is per tenant', async () => {
      const q = `mutation($i:RateLimitInput!){ setRateLimit(input:$i){ __typename ... on RateLimitSetting { perMinute overLimitAction } ... on ValidationError { field } } }`;
      expect((await sg.call(q, { i: { perMinute: 60, burst: 10, overLimitAction: 'DEFER' } }, as.admin(a))).data.setRateLimit).toEqual({
        __typename: 'RateLimitSetting',
        perMinute: 60,
        overLimitAction: 'DEFER',
      });
      await sg.call(q, { i: { perMinute: 120, burst: 10, overLimitAction: 'DEFER' } }, as.admin(a));
      const rows = (await owner.query('SELECT per_minute FROM rate_limit_settings WHERE tenant_id = $1 AND connection_id IS NULL', [a])).rows;
      expect(rows).toEqual([{ per_minute: 120 }]);
      expect((await sg.call(q, { i: { perMinute: 60, burst: 10, overLimitAction: 'BUSY_MESSAGE' } }, as.admin(a))).data.setRateLimit).toEqual({
        __typename: 'ValidationError',
        field: 'busyMessage',
      });
      expect((await sg.call(`{ rateLimits { perMinute } }`, {}, as.admin(b))).data.rateLimits).toEqual([]);
    });
  });
});
