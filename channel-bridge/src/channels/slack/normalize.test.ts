import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { KonstructMessageV1 } from '@konstruct/core';
import { normalizeSlackEvent, slackDedupKey, type Decision, type Route, type SlackEnvelope } from './normalize.ts';

function fixture(name: string): SlackEnvelope {
  const url = new URL(`../../../../test/fixtures/slack/${name}.json`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as SlackEnvelope;
}

const route: Route = { tenantId: randomUUID(), connectionId: randomUUID(), botUserId: 'U0BOTUSER' };
const now = new Date('2024-11-26T09:12:26.000Z');

function published(env: SlackEnvelope, r: Route = route): Extract<Decision, { kind: 'publish' }> {
  const decision = normalizeSlackEvent(env, r, now);
  if (decision.kind !== 'publish') throw new Error(`expected publish, got ignore: ${decision.reason}`);
  return decision;
}
const publish = (env: SlackEnvelope, r: Route = route) => published(env, r).message;

function ignoreReason(env: SlackEnvelope, r: Route = route): string {
  const decision = normalizeSlackEvent(env, r, now);
  expect(decision.kind).toBe('ignore');
  if (decision.kind !== 'ignore') throw new Error('expected ignore');
  return decision.reason;
}

/** The parts of a message that identify it; id, trace and receive time are per delivery. */
function identity(msg: KonstructMessageV1) {
  const { id: _id, trace: _trace, receivedAt: _at, ...rest } = msg;
  return rest;
}

describe('normalizeSlackEvent — app_mention', () => {
  it('publishes a normalized message addressed by mention, replying under the mention itself', () => {
    const d = published(fixture('app_mention'));
    expect(d.addressed).toBe('mention');
    expect(d.thread).toEqual({ teamId: 'T0001ACME', channel: 'C0CUSTOMER', rootTs: '1732612345.000200' });
    const msg = d.message;
    expect(msg.v).toBe(1);
    expect(msg.tenantId).toBe(route.tenantId);
    expect(msg.channel).toEqual({ kind: 'slack', connectionId: route.connectionId, address: 'C0CUSTOMER' });
    expect(msg.text).toBe('what are your opening hours on Saturday?');
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
    expect(publish(fixture('app_mention')).id).not.toBe(publish(fixture('app_mention')).id);
  });

  it('uses the bot user from authorizations when the route has none', () => {
    expect(publish(fixture('app_mention'), { ...route, botUserId: null }).text).toBe('what are your opening hours on Saturday?');
  });

  it('strips every mention of the bot (also the <@U|name> form) and collapses whitespace, but keeps other mentions', () => {
    const env = fixture('app_mention');
    env.event!.text = '<@U0BOTUSER>  please   ask <@U0COLLEAGUE> about <@U0BOTUSER|ava> pricing ';
    expect(publish(env).text).toBe('please ask <@U0COLLEAGUE> about pricing');
  });

  it('inside a thread replies to the thread root and marks inThread', () => {
    const env = fixture('app_mention');
    env.event!.ts = '1732612460.000500';
    env.event!.thread_ts = '1732612345.000200';
    const d = published(env);
    expect(d.addressed).toBe('mention');
    expect(d.thread.rootTs).toBe('1732612345.000200');
    expect(d.message.thread).toEqual({ replyTo: '1732612345.000200', inThread: true });
    expect(d.message.conversation.ref).toBe('slack:T0001ACME:C0CUSTOMER:1732612345.000200');
    // The message's own id is still its own ts, not the root's.
    expect(d.message.externalId).toBe('C0CUSTOMER:1732612460.000500');
    expect(KonstructMessageV1.safeParse(d.message).success).toBe(true);
  });
});

describe('normalizeSlackEvent — the message.channels copy of a mention', () => {
  it('normalizes exactly like the app_mention it duplicates', () => {
    const viaMention = published(fixture('app_mention'));
    const viaMessage = published(fixture('message_channels_same_mention'));
    expect(viaMessage.addressed).toBe('mention');
    expect(viaMessage.thread).toEqual(viaMention.thread);
    expect(identity(viaMessage.message)).toEqual(identity(viaMention.message));
  });

  it('shares the idempotency key with the app_mention, so only one is published', () => {
    const a = fixture('app_mention');
    const b = fixture('message_channels_same_mention');
    expect(a.event_id).not.toBe(b.event_id);
    expect(slackDedupKey(b, route.tenantId)).toBe(slackDedupKey(a, route.tenantId));
  });

  it('is not a mention when the text names someone else', () => {
    const env = fixture('message_channels_same_mention');
    env.event!.text = '<@U0COLLEAGUE> what are your opening hours?';
    expect(ignoreReason(env)).toBe('not addressed to the employee');
  });
});

describe('normalizeSlackEvent — direct messages', () => {
  it('publishes a message.im (no mention needed) and replies in a thread under it', () => {
    const d = published(fixture('message_im'));
    expect(d.addressed).toBe('direct');
    expect(d.message.text).toBe('Can you reschedule my delivery to Friday?');
    expect(d.message.channel.address).toBe('D0DIRECT01');
    expect(d.message.conversation.ref).toBe('slack:T0001ACME:D0DIRECT01:1732612400.000300');
    expect(d.message.thread).toEqual({ replyTo: '1732612400.000300', inThread: false });
    expect(d.message.externalId).toBe('D0DIRECT01:1732612400.000300');
    expect(KonstructMessageV1.safeParse(d.message).success).toBe(true);
  });

  it('keeps a DM thread reply in that thread’s conversation', () => {
    const env = fixture('message_im');
    env.event!.ts = '1732612500.000100';
    env.event!.thread_ts = '1732612400.000300';
    const d = published(env);
    expect(d.addressed).toBe('direct');
    expect(d.message.conversation.ref).toBe('slack:T0001ACME:D0DIRECT01:1732612400.000300');
    expect(d.message.thread).toEqual({ replyTo: '1732612400.000300', inThread: true });
  });

  it('ignores our own bot’s messages in the DM', () => {
    const env = fixture('message_im');
    env.event!.user = 'U0BOTUSER';
    expect(ignoreReason(env)).toBe('own message');
  });
});

describe('normalizeSlackEvent — thread replies without a mention', () => {
  it('is a thread candidate under the root, for the caller to check participation', () => {
    const d = published(fixture('thread_reply'));
    expect(d.addressed).toBe('thread');
    expect(d.thread).toEqual({ teamId: 'T0001ACME', channel: 'C0CUSTOMER', rootTs: '1732612345.000200' });
    expect(d.message.text).toBe('and on Sunday?');
    expect(d.message.conversation.ref).toBe('slack:T0001ACME:C0CUSTOMER:1732612345.000200');
    expect(d.message.thread).toEqual({ replyTo: '1732612345.000200', inThread: true });
    expect(d.message.externalId).toBe('C0CUSTOMER:1732612460.000500');
  });

  it('also in private channels (message.groups)', () => {
    const env = fixture('thread_reply');
    env.event!.channel_type = 'group';
    env.event!.channel = 'G0PRIVATE1';
    expect(published(env).addressed).toBe('thread');
  });

  it('treats a thread reply also sent to the channel (thread_broadcast) as a reply', () => {
    const env = fixture('thread_reply');
    env.event!.subtype = 'thread_broadcast';
    expect(published(env).addressed).toBe('thread');
  });

  it('ignores a top-level channel message that does not mention the employee', () => {
    const env = fixture('thread_reply');
    delete env.event!.thread_ts;
    expect(ignoreReason(env)).toBe('not addressed to the employee');
  });

  it('ignores the thread root itself when Slack repeats thread_ts on it', () => {
    const env = fixture('thread_reply');
    env.event!.thread_ts = env.event!.ts;
    expect(ignoreReason(env)).toBe('not addressed to the employee');
  });
});

describe('normalizeSlackEvent — ignored events', () => {
  it('ignores the bot’s own bot_message', () => {
    expect(ignoreReason(fixture('own_bot_message'))).toContain('bot_message');
  });

  it('ignores message_changed (edits), even of a message that mentioned the bot', () => {
    expect(ignoreReason(fixture('message_changed'))).toBe('subtype message_changed');
    const edit = fixture('message_changed');
    (edit.event as unknown as { message: { text: string; user: string } }).message = { text: '<@U0BOTUSER> hi', user: 'U061F7AUR' };
    expect(ignoreReason(edit)).toBe('subtype message_changed');
  });

  it.each(['message_deleted', 'channel_join', 'channel_leave', 'group_join', 'channel_topic', 'me_message', 'some_future_subtype'])(
    'ignores subtype %s',
    (subtype) => {
      const env = fixture('message_channels_same_mention');
      env.event!.subtype = subtype;
      expect(ignoreReason(env)).toBe(`subtype ${subtype}`);
    },
  );

  it('ignores any message carrying a bot_id or bot_profile even without a subtype', () => {
    const env = fixture('app_mention');
    env.event!.bot_id = 'B0OTHERBOT';
    expect(ignoreReason(env)).toBe('bot message');
    const profiled = fixture('thread_reply');
    profiled.event!.bot_profile = { id: 'B0BOTID01', app_id: 'A0KONSTRUCT', name: 'Ava' };
    expect(ignoreReason(profiled)).toBe('bot message');
  });

  it('ignores a message from the bot’s own user id (route.botUserId)', () => {
    const env = fixture('app_mention');
    env.event!.user = 'U0ROUTEBOT';
    // Authorizations name U0BOTUSER; the route's id is authoritative.
    expect(ignoreReason(env, { ...route, botUserId: 'U0ROUTEBOT' })).toBe('own message');
    // And the same event from that user is published for a route whose bot is someone else.
    expect(normalizeSlackEvent(env, route, now).kind).toBe('publish');
    // A thread reply by our bot user without bot_id is ignored too.
    const reply = fixture('thread_reply');
    reply.event!.user = 'U0BOTUSER';
    expect(ignoreReason(reply)).toBe('own message');
  });

  it('ignores a message from the bot user named in authorizations when the route has no bot id', () => {
    const env = fixture('app_mention');
    env.event!.user = 'U0BOTUSER';
    expect(ignoreReason(env, { ...route, botUserId: null })).toBe('own message');
  });

  it('ignores other event types, naming them', () => {
    const env = fixture('app_mention');
    env.event!.type = 'reaction_added';
    expect(ignoreReason(env)).toBe('event reaction_added not handled');
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
  const tenant = route.tenantId;

  it('is tenant, team, channel and ts', () => {
    expect(slackDedupKey(fixture('app_mention'), tenant)).toBe(`slack:${tenant}:T0001ACME:C0CUSTOMER:1732612345.000200`);
  });

  it('differs for another message in the same thread, and for another tenant', () => {
    const key = slackDedupKey(fixture('thread_reply'), tenant);
    expect(key).toBe(`slack:${tenant}:T0001ACME:C0CUSTOMER:1732612460.000500`);
    expect(key).not.toBe(slackDedupKey(fixture('app_mention'), tenant));
    expect(slackDedupKey(fixture('app_mention'), randomUUID())).not.toBe(slackDedupKey(fixture('app_mention'), tenant));
  });

  it('is null when team, channel or ts is missing', () => {
    expect(slackDedupKey(fixture('url_verification'), tenant)).toBeNull();
    const noTs = fixture('app_mention');
    delete noTs.event!.ts;
    expect(slackDedupKey(noTs, tenant)).toBeNull();
    const noChannel = fixture('app_mention');
    delete noChannel.event!.channel;
    expect(slackDedupKey(noChannel, tenant)).toBeNull();
    const noTeam = fixture('app_mention');
    delete noTeam.team_id;
    expect(slackDedupKey(noTeam, tenant)).toBeNull();
  });
});

describe('normalizeSlackEvent — odd shapes in a signed body', () => {
  it.each([
    ['text is a number', (e: any) => (e.event.text = 42)],
    ['user is an object', (e: any) => (e.event.user = { id: 'U1' })],
    ['thread_ts is a number', (e: any) => (e.event.thread_ts = 1)],
    ['event is an array', (e: any) => (e.event = [])],
    ['team_id is a number', (e: any) => (e.team_id = 7)],
  ])('ignores the event when %s, without throwing', (_name, edit) => {
    const env = fixture('app_mention') as any;
    edit(env);
    expect(ignoreReason(env)).toBe('malformed event');
  });

  it('tolerates junk in authorizations', () => {
    const env = fixture('app_mention') as any;
    env.authorizations = [null, { is_bot: true, user_id: 5 }];
    expect(publish(env, { ...route, botUserId: null }).text).toBe('what are your opening hours on Saturday?');
  });
});

describe('normalizeSlackEvent — files', () => {
  const file = (over: Record<string, unknown> = {}) => ({
    id: 'F0INVOICE1',
    name: 'invoice-0042.pdf',
    title: 'Invoice 42',
    mimetype: 'application/pdf',
    size: 48213,
    url_private: 'https://files.slack.com/files-pri/T0001ACME-F0INVOICE1/invoice-0042.pdf',
    mode: 'hosted',
    ...over,
  });
  const share = (text: string, files: unknown) => {
    const env = fixture('app_mention');
    env.event = { ...env.event!, type: 'message', subtype: 'file_share', channel_type: 'im', text, files } as SlackEnvelope['event'];
    return env;
  };

  it('keeps shared files as attachments by reference, with the words as the text', () => {
    const msg = publish(share('here is the invoice', [file(), file({ id: 'F0PHOTO01', name: 'damage.jpg', mimetype: 'image/jpeg', size: 1200 })]));
    expect(KonstructMessageV1.safeParse(msg).success).toBe(true);
    expect(msg.text).toBe('here is the invoice');
    expect(msg.attachments).toEqual([
      {
        kind: 'document',
        externalId: 'F0INVOICE1',
        name: 'invoice-0042.pdf',
        mimeType: 'application/pdf',
        sizeBytes: 48213,
        url: 'https://files.slack.com/files-pri/T0001ACME-F0INVOICE1/invoice-0042.pdf',
      },
      { kind: 'image', externalId: 'F0PHOTO01', name: 'damage.jpg', mimeType: 'image/jpeg', sizeBytes: 1200, url: expect.stringMatching(/^https:/) },
    ]);
  });

  it('files without words read as their markers', () => {
    const msg = publish(share('', [file(), file({ id: 'F0VOICE01', name: 'note.m4a', mimetype: 'audio/mp4' }), file({ id: 'F0ZIP0001', name: 'a.zip', mimetype: 'application/zip' })]));
    expect(msg.text).toBe('[document: invoice-0042.pdf] [audio: note.m4a] [file: a.zip]');
  });

  it('leaves out withheld files and anything not shaped like a file, and keeps at most 20', () => {
    const msg = publish(
      share('see these', [
        file({ mode: 'tombstone' }),
        file({ id: 'F0HIDDEN1', mode: 'hidden_by_limit' }),
        'F0STRING',
        null,
        file({ id: 7 }),
        file({ id: 'F0NOURL01', url_private: 'javascript:alert(1)', size: -1, mimetype: 5, name: '' }),
        ...Array.from({ length: 30 }, (_, i) => file({ id: `F0MANY${i}` })),
      ]),
    );
    expect(KonstructMessageV1.safeParse(msg).success).toBe(true);
    expect(msg.attachments).toHaveLength(20);
    expect(msg.attachments[0]).toEqual({ kind: 'file', externalId: 'F0NOURL01', name: 'Invoice 42' });
    expect(msg.attachments.map((a) => a.externalId)).not.toContain('F0HIDDEN1');
    expect(publish(share('no files', 'F0NOTALIST')).attachments).toEqual([]);
  });
});
