import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { KonstructMessageV1 } from '@konstruct/core';
import { normalizeSlackEvent, slackDedupKey, type Route, type SlackEnvelope } from './normalize.ts';

function fixture(name: string): SlackEnvelope {
  const url = new URL(`../../../../test/fixtures/slack/${name}.json`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as SlackEnvelope;
}

const route: Route = { tenantId: randomUUID(), connectionId: randomUUID(), botUserId: 'U0BOTUSER' };
const now = new Date('2024-11-26T09:12:26.000Z');

function publish(env: SlackEnvelope, r: Route = route) {
  const decision = normalizeSlackEvent(env, r, now);
  if (decision.kind !== 'publish') throw new Error(`expected publish, got ignore: ${decision.reason}`);
  return decision.message;
}

function ignoreReason(env: SlackEnvelope, r: Route = route): string {
  const decision = normalizeSlackEvent(env, r, now);
  expect(decision.kind).toBe('ignore');
  if (decision.kind !== 'ignore') throw new Error('expected ignore');
  return decision.reason;
}

describe('normalizeSlackEvent — app_mention', () => {
  it('publishes a normalized message', () => {
    const msg = publish(fixture('app_mention'));
    expect(msg.v).toBe(1);
    expect(msg.tenantId).toBe(route.tenantId);
    expect(msg.channel).toEqual({ kind: 'slack', connectionId: route.connectionId, address: 'C0CUSTOMER' });
    expect(msg.text).toBe('what are your opening hours on Saturday?');
    expect(msg.text).not.toContain('<@U0BOTUSER>');
    expect(msg.conversation.ref).toBe('slack:T0001ACME:C0CUSTOMER:1732612345.000200');
    expect(msg.externalId).toBe('C0CUSTOMER:1732612345.000200');
    expect(msg.sender.externalId).toBe('U061F7AUR');
    expect(msg.thread).toEqual({ replyTo: '1732612345.000200', inThread: false });
    expect(msg.attachments).toEqual([]);
    expect(msg.receivedAt).toBe('2024-11-26T09:12:26.000Z');
    expect(msg.trace?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it('produces a message that passes the KonstructMessageV1 contract unchanged', () => {
    const msg = publish(fixture('app_mention'));
    const parsed = KonstructMessageV1.safeParse(msg);
    expect(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues)).toBe(true);
    expect(parsed.data).toEqual(msg);
  });

  it('gives each normalized message its own id', () => {
    const a = publish(fixture('app_mention'));
    const b = publish(fixture('app_mention'));
    expect(a.id).not.toBe(b.id);
  });

  it('uses the bot user from authorizations when the route has none', () => {
    const msg = publish(fixture('app_mention'), { ...route, botUserId: null });
    expect(msg.text).toBe('what are your opening hours on Saturday?');
  });

  it('strips every mention of the bot and collapses whitespace, but keeps other mentions', () => {
    const env = fixture('app_mention');
    env.event!.text = '<@U0BOTUSER>  please   ask <@U0COLLEAGUE> about <@U0BOTUSER> pricing ';
    expect(publish(env).text).toBe('please ask <@U0COLLEAGUE> about pricing');
  });

  it('inside a thread replies to the thread root and marks inThread', () => {
    const env = fixture('app_mention');
    env.event!.ts = '1732612460.000500';
    env.event!.thread_ts = '1732612345.000200';
    const msg = publish(env);
    expect(msg.thread).toEqual({ replyTo: '1732612345.000200', inThread: true });
    expect(msg.conversation.ref).toBe('slack:T0001ACME:C0CUSTOMER:1732612345.000200');
    // The message's own id is still its own ts, not the root's.
    expect(msg.externalId).toBe('C0CUSTOMER:1732612460.000500');
    expect(KonstructMessageV1.safeParse(msg).success).toBe(true);
  });
});

describe('normalizeSlackEvent — ignored events', () => {
  it('ignores the bot’s own bot_message', () => {
    expect(ignoreReason(fixture('own_bot_message'))).toContain('bot_message');
  });

  it('ignores message_changed', () => {
    expect(ignoreReason(fixture('message_changed'))).toContain('message_changed');
  });

  it('ignores any message carrying a bot_id even without a subtype', () => {
    const env = fixture('app_mention');
    env.event!.bot_id = 'B0OTHERBOT';
    expect(ignoreReason(env)).toBe('bot message');
  });

  it('ignores a message from the bot’s own user id (route.botUserId)', () => {
    const env = fixture('app_mention');
    env.event!.user = 'U0ROUTEBOT';
    // Authorizations name U0BOTUSER; the route's id is authoritative.
    expect(ignoreReason(env, { ...route, botUserId: 'U0ROUTEBOT' })).toBe('own message');
    // And the same event from that user is published for a route whose bot is someone else.
    expect(normalizeSlackEvent(env, route, now).kind).toBe('publish');
  });

  it('ignores a message from the bot user named in authorizations when the route has no bot id', () => {
    const env = fixture('app_mention');
    env.event!.user = 'U0BOTUSER';
    expect(ignoreReason(env, { ...route, botUserId: null })).toBe('own message');
  });

  it('ignores message_im in this version, naming the event type', () => {
    const reason = ignoreReason(fixture('message_im'));
    expect(reason).toContain('message');
    expect(reason).toContain('not handled');
  });

  it('ignores the message.channels duplicate of a mention, naming the event type', () => {
    const reason = ignoreReason(fixture('message_channels_same_mention'));
    expect(reason).toBe('event message not handled');
  });

  it('ignores a thread reply without a mention', () => {
    expect(ignoreReason(fixture('thread_reply'))).toContain('message');
  });

  it('ignores an envelope without an event (url_verification)', () => {
    expect(ignoreReason(fixture('url_verification'))).toBe('no event');
  });

  it.each(['channel', 'ts', 'user'] as const)('ignores an app_mention missing %s', (field) => {
    const env = fixture('app_mention');
    delete env.event![field];
    expect(ignoreReason(env)).toBe('incomplete event');
  });

  it('ignores an app_mention without team_id', () => {
    const env = fixture('app_mention');
    delete env.team_id;
    expect(ignoreReason(env)).toBe('incomplete event');
  });
});

describe('slackDedupKey', () => {
  it('is the same for the app_mention and its message.channels duplicate', () => {
    const a = fixture('app_mention');
    const b = fixture('message_channels_same_mention');
    expect(a.event_id).not.toBe(b.event_id);
    expect(slackDedupKey(a)).toBe('slack:T0001ACME:C0CUSTOMER:1732612345.000200');
    expect(slackDedupKey(b)).toBe(slackDedupKey(a));
  });

  it('differs for another message in the same thread', () => {
    const key = slackDedupKey(fixture('thread_reply'));
    expect(key).toBe('slack:T0001ACME:C0CUSTOMER:1732612460.000500');
    expect(key).not.toBe(slackDedupKey(fixture('app_mention')));
  });

  it('is null when team, channel or ts is missing', () => {
    expect(slackDedupKey(fixture('url_verification'))).toBeNull();
    const noTs = fixture('app_mention');
    delete noTs.event!.ts;
    expect(slackDedupKey(noTs)).toBeNull();
    const noChannel = fixture('app_mention');
    delete noChannel.event!.channel;
    expect(slackDedupKey(noChannel)).toBeNull();
    const noTeam = fixture('app_mention');
    delete noTeam.team_id;
    expect(slackDedupKey(noTeam)).toBeNull();
  });
});
