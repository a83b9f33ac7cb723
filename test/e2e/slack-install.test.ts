import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import slackOAuth from '@slack/oauth';
import { decryptSecret, keyringFrom, secretContext, signInstallTicket, type Identity } from '@konstruct/core';
import { schema as tenancySchema } from '../../subgraphs/tenancy/src/index.ts';
import { slackStateSecret, SLACK_BOT_SCOPES } from '../../channel-bridge/src/channels/slack/install.ts';
import { OwnerClient, databaseUrl } from '../support/db.ts';
import { postSlack, slackFixture } from '../support/slack.ts';
import { as, startTestSubgraph } from '../support/subgraph.ts';
import { startSlackBridge, type SlackBridge } from '../support/slack-bridge.ts';

const LINK = `mutation($t: ID!, $a: ID) {
  createSlackInstallLink(tenantId: $t, agentId: $a) {
    __typename
    ... on SlackInstallLink { url expiresAt }
    ... on ValidationError { field message }
    ... on NotFound { message }
  }
}`;

/**
 * The whole "Add to Slack" flow with the real parts: the tenancy API issues an install link,
 * the bridge checks it and sends the browser to (fake) Slack's authorize page with a signed
 * state, Slack redirects back with a code, Slack's InstallProvider exchanges it through the
 * official client and stores the installation in Postgres — and events for the workspace then
 * reach the tenant.
 */
describe('Slack OAuth install', () => {
  let sb: SlackBridge;
  let tenancy: Awaited<ReturnType<typeof startTestSubgraph>>;
  let owner: pg.Client;

  beforeAll(async () => {
    sb = await startSlackBridge(databaseUrl());
    tenancy = await startTestSubgraph('tenancy', tenancySchema, {
      jwtSecret: randomBytes(32).toString('hex'),
      keyring: keyringFrom(sb.masterKey),
      bridgePublicUrl: sb.bridge.url,
    });
    owner = new OwnerClient({ connectionString: databaseUrl() });
    await owner.connect();
  });
  afterAll(async () => {
    await owner?.end();
    await tenancy?.close();
    await sb?.close();
  });

  async function newTenant(): Promise<{ tenantId: string; agentId: string }> {
    const tenantId = randomUUID();
    const agentId = randomUUID();
    await owner.query('INSERT INTO tenants (id, slug, name) VALUES ($1, $2, $3)', [tenantId, `t-${tenantId}`, 'Bakery']);
    await owner.query(
      `INSERT INTO agents (id, tenant_id, name, role, persona, system_prompt, updated_at) VALUES ($1, $2, 'Ava', 'front desk', '', '', now())`,
      [agentId, tenantId],
    );
    return { tenantId, agentId };
  }
  const newTeam = () => ({ id: `T${randomBytes(5).toString('hex').toUpperCase()}`, name: `Bakery ${randomBytes(2).toString('hex')}` });

  async function installLink(tenantId: string, agentId: string | null, identity: Identity = as.admin(tenantId)) {
    const r = await tenancy.call(LINK, { t: tenantId, a: agentId }, identity);
    return r;
  }

  /** A browser: follows nothing by itself, keeps the cookie the bridge sets. */
  async function get(url: string, cookie?: string) {
    const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    return { res, status: res.status, location: res.headers.get('location'), setCookie: res.headers.getSetCookie(), html: await res.text() };
  }

  /** Opens the install link and walks through Slack; returns the final page and the callback URL. */
  async function install(url: string) {
    const start = await get(url);
    expect(start.status, start.html).toBe(302);
    const stateCookie = start.setCookie.map((c) => c.split(';')[0]!).find((c) => c.startsWith('konstruct-slack-oauth-state='));
    expect(stateCookie).toBeDefined();
    const authorize = await get(start.location!);
    expect(authorize.status, authorize.html).toBe(302);
    const callback = authorize.location!;
    const done = await get(callback, stateCookie);
    return { start, authorize, callback, stateCookie: stateCookie!, done };
  }

  async function connectionRow(teamId: string) {
    const { rows } = await owner.query(`SELECT * FROM channel_connections WHERE kind = 'slack' AND external_id = $1 AND app_id = ''`, [teamId]);
    return rows[0];
  }

  it('connects a workspace from a tenant admin’s install link, encrypts the token, and routes its events to the tenant', async () => {
    const { tenantId, agentId } = await newTenant();
    const team = newTeam();
    sb.slack.authorizeAs({ team, botUserId: 'U0NEWBOT', userId: 'U0INSTALLER' });
    const admin = as.admin(tenantId);

    const link = await installLink(tenantId, agentId, admin);
    expect(link.errors).toBeUndefined();
    expect(link.data.createSlackInstallLink.__typename).toBe('SlackInstallLink');
    const { url, expiresAt } = link.data.createSlackInstallLink;
    expect(url.startsWith(`${sb.bridge.url}/slack/install?ticket=`)).toBe(true);
    const minutes = (Date.parse(expiresAt) - Date.now()) / 60_000;
    expect(minutes).toBeGreaterThan(9);
    expect(minutes).toBeLessThanOrEqual(10);

    const { start, callback, done } = await install(url);
    // The bridge sent the browser to Slack's authorize page with our app, scopes, redirect and a signed state.
    const authorizeUrl = new URL(start.location!);
    expect(`${authorizeUrl.origin}${authorizeUrl.pathname}`).toBe(`${sb.slack.url}/oauth/v2/authorize`);
    expect(authorizeUrl.searchParams.get('client_id')).toBe('fake-client-id');
    expect(authorizeUrl.searchParams.get('scope')!.split(',')).toEqual([
      'app_mentions:read',
      'chat:write',
      'im:history',
      'channels:history',
      'groups:history',
    ]);
    expect(authorizeUrl.searchParams.get('redirect_uri')).toBe(`${sb.bridge.url}/slack/oauth_redirect`);
    expect(authorizeUrl.searchParams.get('state')).toBeTruthy();
    expect(new URL(callback).origin + new URL(callback).pathname).toBe(`${sb.bridge.url}/slack/oauth_redirect`);
    expect(done.status, done.html).toBe(200);
    expect(done.html).toContain('Slack is connected');
    expect(done.html).toContain(team.name);

    // The code was exchanged through the official client (oauth.v2.access, then auth.test).
    const grant = sb.slack.installs().find((i) => i.teamId === team.id)!;
    expect(grant.exchanged).toBe(true);
    expect(sb.slack.requests.filter((r) => r.path === '/api/oauth.v2.access').at(-1)!.body).toMatchObject({
      client_id: 'fake-client-id',
      redirect_uri: `${sb.bridge.url}/slack/oauth_redirect`,
    });

    const row = await connectionRow(team.id);
    expect(row).toMatchObject({ tenant_id: tenantId, agent_id: agentId, app_id: '', bot_user_id: 'U0NEWBOT', status: 'active', display_name: team.name });
    expect(row.bot_token_hint).toBe(grant.token.slice(-4));
    expect(JSON.stringify(row)).not.toContain(grant.token);
    expect(decryptSecret(keyringFrom(sb.masterKey), row.bot_token_enc, secretContext('channel_connections', 'bot_token', row.id))).toBe(grant.token);
    expect(row.settings.slack).toMatchObject({
      botId: 'B0FAKEBOT',
      scopes: SLACK_BOT_SCOPES,
      enterpriseId: null,
      appId: 'A0FAKEAPP',
      installer: { slackUserId: 'U0INSTALLER', operatorId: admin.actor.kind === 'operator' ? admin.actor.id : null },
    });

    // The install is in the tenant's audit trail, by the operator who made the link, without secrets.
    const audit = await owner.query(`SELECT actor_kind, actor_id, action, subject_id, data FROM audit_events WHERE tenant_id = $1`, [tenantId]);
    expect(audit.rows).toEqual([
      expect.objectContaining({
        actor_kind: 'operator',
        actor_id: admin.actor.kind === 'operator' ? admin.actor.id : null,
        action: 'channel.slack_installed',
        subject_id: row.id,
        data: expect.objectContaining({ teamId: team.id, agentId }),
      }),
    ]);
    expect(JSON.stringify(audit.rows)).not.toContain(grant.token);

    // A signed event for the new workspace reaches the tenant, with the installed bot's mention stripped.
    const from = sb.inbound.length;
    const ev = slackFixture('app_mention');
    ev.team_id = team.id;
    ev.authorizations[0].team_id = team.id;
    ev.authorizations[0].user_id = 'U0NEWBOT';
    ev.event.text = '<@U0NEWBOT> do you deliver?';
    expect((await postSlack(sb.bridge.url, ev, sb.signingSecret)).status).toBe(200);
    const [msg] = (await sb.waitForInbound(from + 1)).slice(from);
    expect(msg).toMatchObject({ tenantId, text: 'do you deliver?', channel: { kind: 'slack', connectionId: row.id, address: 'C0CUSTOMER' } });
  });

  it('re-installing a workspace for the same tenant replaces the token in the same connection', async () => {
    const { tenantId, agentId } = await newTenant();
    const team = newTeam();
    sb.slack.authorizeAs({ team });
    const first = await install((await installLink(tenantId, agentId)).data.createSlackInstallLink.url);
    expect(first.done.status).toBe(200);
    const before = await connectionRow(team.id);

    // Again, without an agent this time: the connection keeps its agent.
    const again = await install((await installLink(tenantId, null)).data.createSlackInstallLink.url);
    expect(again.done.status, again.done.html).toBe(200);
    const after = await connectionRow(team.id);
    const tokens = sb.slack.installs().filter((i) => i.teamId === team.id).map((i) => i.token);
    expect(tokens).toHaveLength(2);
    expect(after.id).toBe(before.id);
    expect(after.agent_id).toBe(agentId);
    expect(after.bot_token_enc).not.toBe(before.bot_token_enc);
    expect(decryptSecret(keyringFrom(sb.masterKey), after.bot_token_enc, secretContext('channel_connections', 'bot_token', after.id))).toBe(tokens[1]);
    const { rows } = await owner.query(`SELECT count(*)::int AS n FROM channel_connections WHERE external_id = $1`, [team.id]);
    expect(rows[0].n).toBe(1);
    const audit = await owner.query(`SELECT action FROM audit_events WHERE tenant_id = $1 ORDER BY seq`, [tenantId]);
    expect(audit.rows.map((r) => r.action)).toEqual(['channel.slack_installed', 'channel.slack_reinstalled']);
  });

  it('refuses a workspace already connected to another tenant, changing nothing', async () => {
    const a = await newTenant();
    const b = await newTenant();
    const team = newTeam();
    sb.slack.authorizeAs({ team });
    expect((await install((await installLink(a.tenantId, a.agentId)).data.createSlackInstallLink.url)).done.status).toBe(200);
    const before = await connectionRow(team.id);

    const takeover = await install((await installLink(b.tenantId, b.agentId)).data.createSlackInstallLink.url);
    expect(takeover.done.status).toBe(409);
    expect(takeover.done.html).toContain('already connected to another Konstruct account');
    const after = await connectionRow(team.id);
    expect(after).toEqual(before);
    const { rows } = await owner.query(`SELECT count(*)::int AS n FROM channel_connections WHERE tenant_id = $1`, [b.tenantId]);
    expect(rows[0].n).toBe(0);
  });

  it('refuses a missing, forged, damaged or expired install ticket with a clear page, before Slack', async () => {
    const { tenantId } = await newTenant();
    const authorizeCalls = () => sb.slack.requests.filter((r) => r.path === '/oauth/v2/authorize').length;
    const calls = authorizeCalls();
    const missing = await get(`${sb.bridge.url}/slack/install`);
    expect(missing.status).toBe(400);
    expect(missing.html).toContain('Install link incomplete');

    const forged = signInstallTicket(keyringFrom(randomBytes(32).toString('base64')), { channel: 'slack', tenantId, agentId: null, operatorId: null });
    const forgedPage = await get(`${sb.bridge.url}/slack/install?ticket=${encodeURIComponent(forged.ticket)}`);
    expect(forgedPage.status).toBe(403);
    expect(forgedPage.html).toContain('not valid');

    const damaged = await get(`${sb.bridge.url}/slack/install?ticket=it1.nonsense`);
    expect(damaged.status).toBe(400);

    const old = signInstallTicket(keyringFrom(sb.masterKey), { channel: 'slack', tenantId, agentId: null, operatorId: null }, { now: new Date(Date.now() - 11 * 60_000) });
    const expired = await get(`${sb.bridge.url}/slack/install?ticket=${encodeURIComponent(old.ticket)}`);
    expect(expired.status).toBe(410);
    expect(expired.html).toContain('expired');

    const whatsapp = signInstallTicket(keyringFrom(sb.masterKey), { channel: 'whatsapp', tenantId, agentId: null, operatorId: null });
    expect((await get(`${sb.bridge.url}/slack/install?ticket=${encodeURIComponent(whatsapp.ticket)}`)).status).toBe(400);
    expect(authorizeCalls()).toBe(calls);
  });

  it('refuses a forged, expired or foreign OAuth state on the redirect, storing nothing', async () => {
    const { tenantId } = await newTenant();
    const team = newTeam();
    sb.slack.authorizeAs({ team });
    const url = (await installLink(tenantId, null)).data.createSlackInstallLink.url;
    const start = await get(url);
    const cookie = start.setCookie.map((c) => c.split(';')[0]!).find((c) => c.startsWith('konstruct-slack-oauth-state='))!;
    const authorize = await get(start.location!);
    const callback = new URL(authorize.location!);
    const state = callback.searchParams.get('state')!;

    // Forged: a state for another tenant signed with someone else's key, set as the cookie too.
    const Store = slackOAuth.ClearStateStore;
    const otherTenantState = await new Store('not-our-secret', 600).generateStateParam(
      { scopes: SLACK_BOT_SCOPES, metadata: JSON.stringify({ tenantId: randomUUID(), agentId: null, operatorId: null }) },
      new Date(),
    );
    const forgedUrl = new URL(callback);
    forgedUrl.searchParams.set('state', otherTenantState);
    const forged = await get(forgedUrl.toString(), `konstruct-slack-oauth-state=${otherTenantState}`);
    expect(forged.status).toBe(403);
    expect(forged.html).toContain('Install session not valid');

    // Expired: signed with our key, but issued 11 minutes ago.
    const oldState = await new Store(slackStateSecret(keyringFrom(sb.masterKey)), 600).generateStateParam(
      { scopes: SLACK_BOT_SCOPES, redirectUri: `${sb.bridge.url}/slack/oauth_redirect`, metadata: JSON.stringify({ tenantId, agentId: null, operatorId: null }) },
      new Date(Date.now() - 11 * 60_000),
    );
    const expiredUrl = new URL(callback);
    expiredUrl.searchParams.set('state', oldState);
    expect((await get(expiredUrl.toString(), `konstruct-slack-oauth-state=${oldState}`)).status).toBe(403);

    // The right state, but from another browser (no cookie).
    expect((await get(callback.toString())).status).toBe(403);
    expect(await connectionRow(team.id)).toBeUndefined();

    // The genuine browser still completes it (the code was not spent by the refused attempts).
    const done = await get(callback.toString(), cookie);
    expect(done.status, done.html).toBe(200);
    expect(state).toBe(cookie.split('=')[1]);
    expect((await connectionRow(team.id)).tenant_id).toBe(tenantId);
  });

  it('tells the person when they cancel in Slack, and connects nothing', async () => {
    const { tenantId } = await newTenant();
    const team = newTeam();
    sb.slack.authorizeAs({ team, deny: true });
    try {
      const r = await install((await installLink(tenantId, null)).data.createSlackInstallLink.url);
      expect(r.done.status).toBe(400);
      expect(r.done.html).toContain('cancelled');
      expect(await connectionRow(team.id)).toBeUndefined();
    } finally {
      sb.slack.authorizeAs({});
    }
  });

  describe('createSlackInstallLink', () => {
    it('is for tenant admins of that tenant only, with an agent of that tenant', async () => {
      const a = await newTenant();
      const b = await newTenant();
      const viewer = await installLink(a.tenantId, null, as.viewer(a.tenantId));
      expect(viewer.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const otherAdmin = await installLink(a.tenantId, null, as.admin(b.tenantId));
      expect(otherAdmin.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const anonymous = await installLink(a.tenantId, null, as.anonymous());
      expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

      const foreignAgent = await installLink(a.tenantId, b.agentId);
      expect(foreignAgent.data.createSlackInstallLink).toEqual({ __typename: 'ValidationError', field: 'agentId', message: 'agentId does not name an agent of this tenant' });
      const notAnId = await installLink(a.tenantId, 'nope');
      expect(notAnId.data.createSlackInstallLink.__typename).toBe('ValidationError');

      const platform = await installLink(a.tenantId, a.agentId, as.platform());
      expect(platform.data.createSlackInstallLink.__typename).toBe('SlackInstallLink');
      const missingTenant = await installLink(randomUUID(), null, as.platform());
      expect(missingTenant.data.createSlackInstallLink.__typename).toBe('NotFound');
    });
  });
});
