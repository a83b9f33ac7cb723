import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { KonstructMessageV1 } from '@konstruct/core';
import { OwnerClient, databaseUrl } from '../support/db.ts';
import { postSlack, slackFixture, slackHeaders } from '../support/slack.ts';
import { seedSlackTenant, type SlackTenant } from '../support/platform.ts';
import { startSlackBridge, type SlackBridge } from '../support/slack-bridge.ts';
import { markThreadParticipation, threadMarkerKey, THREAD_MARKER_TTL_SECONDS } from '../../channel-bridge/src/channels/slack/threads.ts';

/**
 * Slack inbound through the real bridge: signed events in, KonstructMessages out on RabbitMQ
 * (read by a test consumer in the runner's place), with Postgres and Redis.
 */
describe('Slack inbound', () => {
  let sb: SlackBridge;
  let owner: pg.Client;

  beforeAll(async () => {
    sb = await startSlackBridge(databaseUrl());
    owner = new OwnerClient({ connectionString: databaseUrl() });
    await owner.connect();
  });
  afterAll(async () => {
    await owner?.end();
    await sb?.close();
  });

  const newTeam = () => `T${randomBytes(5).toString('hex').toUpperCase()}`;
  let tsSeq = 0;
  /** A fresh Slack ts, so tests never collide on the idempotency key. */
  const newTs = () => `${1732700000 + ++tsSeq}.${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;

  /** A vendor fixture moved to another workspace, with its own event id. */
  function event(name: string, teamId: string, edit: (e: Record<string, any>) => void = () => undefined) {
    const e = slackFixture(name);
    e.team_id = teamId;
    for (const a of e.authorizations ?? []) a.team_id = teamId;
    e.event_id = `Ev${randomBytes(6).toString('hex').toUpperCase()}`;
    edit(e);
    return e;
  }

  /** A DM that is always published; once it is through, everything sent before it has been decided. */
  async function barrier(teamId: string): Promise<KonstructMessageV1> {
    const before = sb.inbound.length;
    const ts = newTs();
    const dm = event('message_im', teamId, (e) => {
      e.event.ts = e.event.event_ts = ts;
      e.event.text = `barrier ${ts}`;
    });
    expect((await postSlack(sb.bridge.url, dm, sb.signingSecret)).status).toBe(200);
    await sb.waitForInbound(before + 1);
    const last = sb.inbound.find((i) => i.message.text === `barrier ${ts}`);
    expect(last).toBeDefined();
    return last!.message;
  }

  /** Messages published since `from`, without barrier DMs. */
  const since = (from: number) => sb.inbound.slice(from).map((i) => i.message).filter((m) => !m.text.startsWith('barrier '));

  describe('what reaches the employee', () => {
    let acme: SlackTenant;
    beforeAll(async () => {
      acme = await seedSlackTenant(databaseUrl(), sb.masterKey, { teamId: newTeam() });
    });

    it('publishes a direct message (message.im, no mention) as a conversation threaded under it', async () => {
      const from = sb.inbound.length;
      const dm = event('message_im', acme.teamId);
      expect((await postSlack(sb.bridge.url, dm, sb.signingSecret)).status).toBe(200);
      const [msg] = (await sb.waitForInbound(from + 1)).slice(from);
      expect(KonstructMessageV1.safeParse(msg).success).toBe(true);
      expect(msg!.tenantId).toBe(acme.tenantId);
      expect(msg!.channel).toEqual({ kind: 'slack', connectionId: acme.connectionId, address: 'D0DIRECT01' });
      expect(msg!.text).toBe('Can you reschedule my delivery to Friday?');
      expect(msg!.thread).toEqual({ replyTo: '1732612400.000300', inThread: false });
      expect(msg!.conversation.ref).toBe(`slack:${acme.teamId}:D0DIRECT01:1732612400.000300`);
      expect(sb.inbound.at(-1)!.tenantHeader).toBe(acme.tenantId);
    });

    it('publishes a channel mention once although Slack sends it as app_mention and message.channels, and retries', async () => {
      const from = sb.inbound.length;
      const ts = newTs();
      const setTs = (e: Record<string, any>) => (e.event.ts = e.event.event_ts = ts);
      const mention = event('app_mention', acme.teamId, setTs);
      const copy = event('message_channels_same_mention', acme.teamId, setTs);
      // Both deliveries at once, as Slack sends them, plus a retry of the first.
      const statuses = await Promise.all([
        postSlack(sb.bridge.url, mention, sb.signingSecret),
        postSlack(sb.bridge.url, copy, sb.signingSecret),
        postSlack(sb.bridge.url, mention, sb.signingSecret, { extraHeaders: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } }),
      ]);
      expect(statuses.map((r) => r.status)).toEqual([200, 200, 200]);
      await barrier(acme.teamId);
      const published = since(from);
      expect(published).toHaveLength(1);
      expect(published[0]!.externalId).toBe(`C0CUSTOMER:${ts}`);
      expect(published[0]!.thread).toEqual({ replyTo: ts, inThread: false });
      expect(published[0]!.text).toBe('what are your opening hours on Saturday?');
    });

    it('publishes the message.channels copy when it is the only delivery of a mention', async () => {
      const from = sb.inbound.length;
      const ts = newTs();
      const copy = event('message_channels_same_mention', acme.teamId, (e) => (e.event.ts = e.event.event_ts = ts));
      expect((await postSlack(sb.bridge.url, copy, sb.signingSecret)).status).toBe(200);
      // The app_mention arriving later is the duplicate now.
      const mention = event('app_mention', acme.teamId, (e) => (e.event.ts = e.event.event_ts = ts));
      expect((await postSlack(sb.bridge.url, mention, sb.signingSecret)).status).toBe(200);
      await barrier(acme.teamId);
      expect(since(from).map((m) => m.externalId)).toEqual([`C0CUSTOMER:${ts}`]);
    });

    it('never publishes our own bot, other bots, edits, deletions, joins or leaves', async () => {
      const from = sb.inbound.length;
      const ignored = [
        event('own_bot_message', acme.teamId),
        event('message_changed', acme.teamId),
        event('thread_reply', acme.teamId, (e) => {
          e.event.subtype = 'message_deleted';
          e.event.deleted_ts = e.event.ts;
        }),
        event('message_channels_same_mention', acme.teamId, (e) => {
          e.event.subtype = 'channel_join';
          e.event.text = '<@U0NEWBIE> has joined the channel';
          e.event.ts = e.event.event_ts = newTs();
        }),
        event('message_channels_same_mention', acme.teamId, (e) => {
          e.event.subtype = 'channel_leave';
          e.event.ts = e.event.event_ts = newTs();
        }),
        // Our bot user writing without a bot_id (e.g. a reply it posted) in a DM.
        event('message_im', acme.teamId, (e) => {
          e.event.user = 'U0BOTUSER';
          e.event.ts = e.event.event_ts = newTs();
        }),
      ];
      for (const e of ignored) expect((await postSlack(sb.bridge.url, e, sb.signingSecret)).status).toBe(200);
      await barrier(acme.teamId);
      expect(since(from)).toEqual([]);
    });
  });

  describe('thread replies without a new mention', () => {
    let acme: SlackTenant;
    beforeAll(async () => {
      acme = await seedSlackTenant(databaseUrl(), sb.masterKey, { teamId: newTeam() });
    });

    function reply(rootTs: string, text: string, channel = 'C0CUSTOMER') {
      return event('thread_reply', acme.teamId, (e) => {
        e.event.thread_ts = rootTs;
        e.event.ts = e.event.event_ts = newTs();
        e.event.text = text;
        e.event.channel = channel;
      });
    }

    it('publishes a reply in a thread the employee was mentioned in, under the same conversation', async () => {
      const from = sb.inbound.length;
      const root = newTs();
      const mention = event('app_mention', acme.teamId, (e) => (e.event.ts = e.event.event_ts = root));
      expect((await postSlack(sb.bridge.url, mention, sb.signingSecret)).status).toBe(200);
      // The marker is per tenant and expires.
      const key = threadMarkerKey(sb.redisKeyPrefix, { tenantId: acme.tenantId, teamId: acme.teamId, channel: 'C0CUSTOMER', threadTs: root });
      expect(key).toContain(acme.tenantId);
      const ttl = await sb.redis.ttl(key);
      expect(ttl).toBeGreaterThan(THREAD_MARKER_TTL_SECONDS - 60);

      expect((await postSlack(sb.bridge.url, reply(root, 'and on Sunday?'), sb.signingSecret)).status).toBe(200);
      const [first, second] = (await sb.waitForInbound(from + 2)).slice(from);
      expect(first!.conversation.ref).toBe(`slack:${acme.teamId}:C0CUSTOMER:${root}`);
      expect(second!.text).toBe('and on Sunday?');
      expect(second!.conversation.ref).toBe(first!.conversation.ref);
      expect(second!.thread).toEqual({ replyTo: root, inThread: true });
    });

    it('publishes a reply in a thread that grew under a mention made inside it', async () => {
      const from = sb.inbound.length;
      const root = newTs();
      const inThreadMention = event('app_mention', acme.teamId, (e) => {
        e.event.ts = e.event.event_ts = newTs();
        e.event.thread_ts = root;
      });
      expect((await postSlack(sb.bridge.url, inThreadMention, sb.signingSecret)).status).toBe(200);
      expect((await postSlack(sb.bridge.url, reply(root, 'thanks, and parking?'), sb.signingSecret)).status).toBe(200);
      const published = (await sb.waitForInbound(from + 2)).slice(from);
      expect(published.map((m) => m.thread.replyTo)).toEqual([root, root]);
      expect(published[1]!.text).toBe('thanks, and parking?');
    });

    it('ignores replies in threads the employee takes no part in', async () => {
      const from = sb.inbound.length;
      expect((await postSlack(sb.bridge.url, reply(newTs(), 'people talking among themselves'), sb.signingSecret)).status).toBe(200);
      // A top-level channel message without a mention, too.
      const chatter = event('thread_reply', acme.teamId, (e) => {
        delete e.event.thread_ts;
        delete e.event.parent_user_id;
        e.event.ts = e.event.event_ts = newTs();
      });
      expect((await postSlack(sb.bridge.url, chatter, sb.signingSecret)).status).toBe(200);
      await barrier(acme.teamId);
      expect(since(from)).toEqual([]);
    });

    it('takes part in threads it replied in (marked by the sender after posting)', async () => {
      const from = sb.inbound.length;
      const root = newTs();
      await markThreadParticipation(sb.redis, sb.redisKeyPrefix, { tenantId: acme.tenantId, teamId: acme.teamId, channel: 'C0OTHER', threadTs: root });
      expect((await postSlack(sb.bridge.url, reply(root, 'about your last answer', 'C0OTHER'), sb.signingSecret)).status).toBe(200);
      const [msg] = (await sb.waitForInbound(from + 1)).slice(from);
      expect(msg!.text).toBe('about your last answer');
      expect(msg!.thread.replyTo).toBe(root);
    });

    it('falls back to the conversation in the database when Redis has no marker, and sets the marker again', async () => {
      const from = sb.inbound.length;
      const root = newTs();
      await owner.query(
        `INSERT INTO conversations (id, tenant_id, agent_id, connection_id, channel_kind, external_ref, end_user_external_id)
         VALUES ($1, $2, $3, $4, 'slack', $5, 'U061F7AUR')`,
        [randomUUID(), acme.tenantId, acme.agentId, acme.connectionId, `slack:${acme.teamId}:C0CUSTOMER:${root}`],
      );
      const key = threadMarkerKey(sb.redisKeyPrefix, { tenantId: acme.tenantId, teamId: acme.teamId, channel: 'C0CUSTOMER', threadTs: root });
      expect(await sb.redis.exists(key)).toBe(0);
      expect((await postSlack(sb.bridge.url, reply(root, 'picking this up again a month later'), sb.signingSecret)).status).toBe(200);
      const [msg] = (await sb.waitForInbound(from + 1)).slice(from);
      expect(msg!.text).toBe('picking this up again a month later');
      expect(await sb.redis.exists(key)).toBe(1);
    });

    it('does not count another tenant’s conversation or marker for the same thread', async () => {
      const other = await seedSlackTenant(databaseUrl(), sb.masterKey, { teamId: newTeam() });
      const root = newTs();
      // The other tenant's employee takes part in a thread with the same coordinates.
      await markThreadParticipation(sb.redis, sb.redisKeyPrefix, { tenantId: other.tenantId, teamId: acme.teamId, channel: 'C0CUSTOMER', threadTs: root });
      await owner.query(
        `INSERT INTO conversations (id, tenant_id, agent_id, connection_id, channel_kind, external_ref, end_user_external_id)
         VALUES ($1, $2, $3, $4, 'slack', $5, 'U061F7AUR')`,
        [randomUUID(), other.tenantId, other.agentId, other.connectionId, `slack:${acme.teamId}:C0CUSTOMER:${root}`],
      );
      const from = sb.inbound.length;
      expect((await postSlack(sb.bridge.url, reply(root, 'not for acme'), sb.signingSecret)).status).toBe(200);
      await barrier(acme.teamId);
      expect(since(from)).toEqual([]);
    });
  });

  describe('bring your own Slack app', () => {
    const byoAppId = `A0BYO${randomBytes(3).toString('hex').toUpperCase()}`;
    const byoSecret = randomBytes(16).toString('hex');
    let byo: SlackTenant;
    let platformTenant: SlackTenant;

    beforeAll(async () => {
      byo = await seedSlackTenant(databaseUrl(), sb.masterKey, { teamId: newTeam(), appId: byoAppId, signingSecret: byoSecret, botUserId: 'U0BYOBOT' });
      // The same workspace also has the platform app, for another tenant.
      platformTenant = await seedSlackTenant(databaseUrl(), sb.masterKey, { teamId: byo.teamId });
    });

    function byoEvent(name: string, edit: (e: Record<string, any>) => void = () => undefined) {
      return event(name, byo.teamId, (e) => {
        e.api_app_id = byoAppId;
        for (const a of e.authorizations ?? []) a.user_id = 'U0BYOBOT';
        if (typeof e.event?.text === 'string') e.event.text = e.event.text.replaceAll('<@U0BOTUSER>', '<@U0BYOBOT>');
        e.event.ts = e.event.event_ts = newTs();
        edit(e);
      });
    }

    it('verifies with the tenant’s own signing secret and routes by api_app_id to that tenant', async () => {
      const from = sb.inbound.length;
      const mention = byoEvent('app_mention');
      expect((await postSlack(sb.bridge.url, mention, byoSecret)).status).toBe(200);
      const [msg] = (await sb.waitForInbound(from + 1)).slice(from);
      expect(msg!.tenantId).toBe(byo.tenantId);
      expect(msg!.channel.connectionId).toBe(byo.connectionId);
      expect(msg!.text).toBe('what are your opening hours on Saturday?');
    });

    it('keeps routing the platform app’s events for the same workspace to the platform tenant', async () => {
      const from = sb.inbound.length;
      const mention = event('app_mention', byo.teamId, (e) => (e.event.ts = e.event.event_ts = newTs()));
      expect((await postSlack(sb.bridge.url, mention, sb.signingSecret)).status).toBe(200);
      const [msg] = (await sb.waitForInbound(from + 1)).slice(from);
      expect(msg!.tenantId).toBe(platformTenant.tenantId);
    });

    it('refuses forged signatures for a BYO app and publishes nothing', async () => {
      const from = sb.inbound.length;
      const forged = byoEvent('app_mention', (e) => (e.event.text = '<@U0BYOBOT> forged'));
      // Signed with a secret nobody registered.
      expect((await postSlack(sb.bridge.url, forged, randomBytes(16).toString('hex'))).status).toBe(401);
      // A valid BYO signature over a stale timestamp.
      expect((await postSlack(sb.bridge.url, forged, byoSecret, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 })).status).toBe(401);
      // The body changed after signing (api_app_id swapped to ours after signing for another app).
      const signed = JSON.stringify({ ...forged, api_app_id: 'A0SOMEOTHER' });
      const tampered = await fetch(`${sb.bridge.url}/slack/events`, {
        method: 'POST',
        headers: slackHeaders(signed, byoSecret),
        body: JSON.stringify(forged),
      });
      expect(tampered.status).toBe(401);
      // The platform secret cannot speak for a BYO connection, whatever api_app_id says: a
      // platform-signed event is routed only to the workspace's platform-app connection.
      const viaPlatform = byoEvent('app_mention', (e) => (e.event.text = '<@U0BYOBOT> platform-signed'));
      expect((await postSlack(sb.bridge.url, viaPlatform, sb.signingSecret)).status).toBe(200);
      await barrier(byo.teamId);
      expect(since(from).filter((m) => m.text.includes('forged'))).toEqual([]);
      expect(since(from).filter((m) => m.tenantId === byo.tenantId)).toEqual([]);
      expect(since(from).map((m) => [m.tenantId, m.channel.connectionId])).toEqual([[platformTenant.tenantId, platformTenant.connectionId]]);
    });

    it('refuses another tenant’s app secret used to claim this workspace, even for the same app id', async () => {
      // A second tenant registers the same app id for a workspace of its own, with its own
      // secret (a fresh app id, so no cached secrets hide either row).
      const appId = `A0SQT${randomBytes(3).toString('hex').toUpperCase()}`;
      const realSecret = randomBytes(16).toString('hex');
      const squatterSecret = randomBytes(16).toString('hex');
      const real = await seedSlackTenant(databaseUrl(), sb.masterKey, { teamId: newTeam(), appId, signingSecret: realSecret, botUserId: 'U0BYOBOT' });
      const squatter = await seedSlackTenant(databaseUrl(), sb.masterKey, { teamId: newTeam(), appId, signingSecret: squatterSecret, botUserId: 'U0BYOBOT' });
      const mention = (teamId: string, text: string) =>
        event('app_mention', teamId, (e) => {
          e.api_app_id = appId;
          e.event.ts = e.event.event_ts = newTs();
          e.event.text = `<@U0BYOBOT> ${text}`;
        });
      const from = sb.inbound.length;
      // The squatter's secret verifies, but only for the squatter's own connections.
      expect((await postSlack(sb.bridge.url, mention(real.teamId, 'squatted'), squatterSecret)).status).toBe(401);
      // Both apps keep working for their own workspaces.
      expect((await postSlack(sb.bridge.url, mention(real.teamId, 'real one'), realSecret)).status).toBe(200);
      expect((await postSlack(sb.bridge.url, mention(squatter.teamId, 'squatter’s own'), squatterSecret)).status).toBe(200);
      await barrier(byo.teamId);
      expect(since(from).map((m) => [m.tenantId, m.text])).toEqual([
        [real.tenantId, 'real one'],
        [squatter.tenantId, 'squatter’s own'],
      ]);
    });

    it('answers Slack’s URL check for a BYO app that names itself in the Request URL', async () => {
      const check = slackFixture('url_verification');
      const body = JSON.stringify(check);
      const ok = await fetch(`${sb.bridge.url}/slack/events?app_id=${byoAppId}`, { method: 'POST', headers: slackHeaders(body, byoSecret), body });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ challenge: check.challenge });
      // Without the hint only the platform secret is tried.
      const unnamed = await fetch(`${sb.bridge.url}/slack/events`, { method: 'POST', headers: slackHeaders(body, byoSecret), body });
      expect(unnamed.status).toBe(401);
      // Body and URL must agree on the app.
      const mention = JSON.stringify(byoEvent('app_mention'));
      const conflicting = await fetch(`${sb.bridge.url}/slack/events?app_id=A0SOMEOTHER`, {
        method: 'POST',
        headers: slackHeaders(mention, byoSecret),
        body: mention,
      });
      expect(conflicting.status).toBe(401);
    });

    it('refuses a BYO-signed body that is not JSON (no app id can be read, so no tenant secret applies)', async () => {
      const res = await postSlack(sb.bridge.url, null, byoSecret, { rawBody: `{"api_app_id":"${byoAppId}","type":"event_callback",` });
      expect(res.status).toBe(401);
    });
  });
});
