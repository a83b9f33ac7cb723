import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebClient } from '@slack/web-api';
import { startFakeSlack, type FakeSlack } from '../../../test/fakes/index.ts';
import { findPostedParts, replyMetadata } from './slack-reconcile.ts';

describe('findPostedParts (official WebClient against the fake Slack)', () => {
  let slack: FakeSlack;
  let client: WebClient;
  beforeEach(async () => {
    slack = await startFakeSlack();
    client = new WebClient('xoxb-test', { slackApiUrl: `${slack.url}/api/`, retryConfig: { retries: 0 } });
  });
  afterEach(() => slack.close());

  const thread = '1700000000.000100';

  it('finds our parts in a thread by metadata, ignoring other replies and other messages', async () => {
    await client.chat.postMessage({ channel: 'C1', thread_ts: thread, text: 'a person' });
    await client.chat.postMessage({ channel: 'C1', thread_ts: thread, text: 'p0', metadata: replyMetadata('reply-1', 0, 3) });
    await client.chat.postMessage({ channel: 'C1', thread_ts: thread, text: 'other', metadata: replyMetadata('reply-2', 0, 1) });
    await client.chat.postMessage({ channel: 'C1', thread_ts: thread, text: 'p1', metadata: replyMetadata('reply-1', 1, 3) });
    await client.chat.postMessage({ channel: 'C2', thread_ts: thread, text: 'p2 elsewhere', metadata: replyMetadata('reply-1', 2, 3) });

    const found = await findPostedParts(client, { channel: 'C1', threadTs: thread, since: new Date() }, 'reply-1');
    const posts = slack.posts();
    expect([...found.entries()]).toEqual([
      [0, posts[1]!.ts],
      [1, posts[3]!.ts],
    ]);
    const call = slack.requests.find((r) => r.path === '/api/conversations.replies')!.body as Record<string, string>;
    expect(call.include_all_metadata).toBe('true');
    expect(Number(call.oldest)).toBeLessThan(Date.now() / 1000);
  });

  it('pages through long threads', async () => {
    for (let i = 0; i < 450; i++) await client.chat.postMessage({ channel: 'C3', thread_ts: thread, text: `noise ${i}` });
    await client.chat.postMessage({ channel: 'C3', thread_ts: thread, text: 'late part', metadata: replyMetadata('reply-3', 0, 1) });
    const found = await findPostedParts(client, { channel: 'C3', threadTs: thread, since: new Date() }, 'reply-3');
    expect(found.size).toBe(1);
    expect(slack.requests.filter((r) => r.path === '/api/conversations.replies')).toHaveLength(3);
  });

  it('reads channel history for replies outside a thread', async () => {
    await client.chat.postMessage({ channel: 'D1', text: 'p0', metadata: replyMetadata('reply-4', 0, 1) });
    const found = await findPostedParts(client, { channel: 'D1', since: new Date() }, 'reply-4');
    expect(found.get(0)).toBe(slack.posts()[0]!.ts);
    expect(slack.requests.some((r) => r.path === '/api/conversations.history')).toBe(true);
  });

  it('lets read errors through for the caller to classify', async () => {
    slack.failNext('conversations.replies', { error: 'missing_scope' });
    await expect(findPostedParts(client, { channel: 'C1', threadTs: thread, since: new Date() }, 'reply-1')).rejects.toMatchObject({
      data: { error: 'missing_scope' },
    });
  });
});
