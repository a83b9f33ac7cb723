import { ErrorCode, WebClient, type WebAPIHTTPError } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeSlack, type FakeSlack } from './index.ts';

describe('fake Slack: message metadata, history and thread replies (official WebClient)', () => {
  let slack: FakeSlack;
  let client: WebClient;
  beforeEach(async () => {
    slack = await startFakeSlack();
    client = new WebClient('xoxb-test', { slackApiUrl: `${slack.url}/api/`, retryConfig: { retries: 0 } });
  });
  afterEach(() => slack.close());

  const meta = (n: number) => ({ event_type: 'konstruct_reply', event_payload: { reply_id: 'r-1', part: n, parts: 2 } });

  it('returns thread replies oldest first after the parent, with metadata only when asked', async () => {
    await client.chat.postMessage({ channel: 'C1', text: 'one', thread_ts: '1700000000.000100', metadata: meta(0) });
    await client.chat.postMessage({ channel: 'C1', text: 'two', thread_ts: '1700000000.000100', metadata: meta(1) });
    await client.chat.postMessage({ channel: 'C1', text: 'elsewhere', thread_ts: '1700000000.000999' });

    const plain = await client.conversations.replies({ channel: 'C1', ts: '1700000000.000100' });
    expect(plain.messages!.map((m) => m.text)).toEqual(['', 'one', 'two']);
    expect(plain.messages![0]!.ts).toBe('1700000000.000100');
    expect(plain.messages![1]).not.toHaveProperty('metadata');

    const withMeta = await client.conversations.replies({ channel: 'C1', ts: '1700000000.000100', include_all_metadata: true });
    expect(withMeta.messages![1]!.metadata).toEqual(meta(0));
    expect(withMeta.messages![2]!.metadata).toEqual(meta(1));
    expect(withMeta.messages![2]!.bot_id).toBe('B0FAKEBOT');
  });

  it('pages with a cursor and filters by oldest', async () => {
    for (let i = 0; i < 5; i++) await client.chat.postMessage({ channel: 'C2', text: `m${i}`, thread_ts: '1700000000.000100' });
    const first = await client.conversations.replies({ channel: 'C2', ts: '1700000000.000100', limit: 2 });
    expect(first.messages!.map((m) => m.text)).toEqual(['', 'm0', 'm1']);
    expect(first.has_more).toBe(true);
    const second = await client.conversations.replies({
      channel: 'C2',
      ts: '1700000000.000100',
      limit: 2,
      cursor: first.response_metadata!.next_cursor!,
    });
    expect(second.messages!.map((m) => m.text)).toEqual(['m2', 'm3']);

    const all = slack.posts();
    const later = await client.conversations.replies({ channel: 'C2', ts: '1700000000.000100', oldest: all[2]!.ts });
    expect(later.messages!.slice(1).map((m) => m.text)).toEqual(['m3', 'm4']);
  });

  it('lists top-level channel messages newest first in history, without thread replies', async () => {
    await client.chat.postMessage({ channel: 'D1', text: 'first', metadata: meta(0) });
    await client.chat.postMessage({ channel: 'D1', text: 'in a thread', thread_ts: '1700000000.000100' });
    await client.chat.postMessage({ channel: 'D1', text: 'second' });
    const res = await client.conversations.history({ channel: 'D1', include_all_metadata: true });
    expect(res.messages!.map((m) => m.text)).toEqual(['second', 'first']);
    expect(res.messages![1]!.metadata).toEqual(meta(0));
  });

  it('an applied failure stores the post but answers with the error', async () => {
    slack.failNext('chat.postMessage', { status: 503, error: 'service_unavailable', applied: true });
    const err = (await client.chat.postMessage({ channel: 'C3', text: 'maybe' }).catch((e: unknown) => e)) as WebAPIHTTPError;
    expect(err.code).toBe(ErrorCode.HTTPError);
    expect(err.statusCode).toBe(503);
    expect(slack.posts().map((p) => p.text)).toEqual(['maybe']);
  });

  it('runs the post hook after storing and before answering, and stamps arrival times', async () => {
    const seen: string[] = [];
    slack.onPost(async (post) => {
      seen.push(`hook:${post.text}:${slack.posts().length}`);
      await new Promise((r) => setTimeout(r, 100));
    });
    const started = Date.now();
    await client.chat.postMessage({ channel: 'C4', text: 'hello' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    expect(seen).toEqual(['hook:hello:1']);
    expect(slack.posts()[0]!.receivedAtEpochMs).toBeGreaterThanOrEqual(started - 5);
    slack.onPost();
  });
});
