import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl } from '../support/db.ts';
import { seedSlackTenant, startPlatform, type Platform, type SlackTenant } from '../support/platform.ts';
import { mention, waitForThreadPosts } from '../support/runner-turns.ts';
import { echoReply, type ChatRequest } from '../fakes/index.ts';

/**
 * Ordering end to end (item 9): two messages of one conversation arriving together are answered
 * one after the other, in order — the second sees the first's reply — while another
 * conversation is answered in parallel meanwhile.
 */
describe('runner: per-conversation ordering', () => {
  let p: Platform;
  let t: SlackTenant;

  beforeAll(async () => {
    p = await startPlatform(databaseUrl(), { runnerConcurrency: 8 });
    t = await seedSlackTenant(databaseUrl(), p.masterKey, { agentName: 'Ava' });
  });
  afterAll(async () => {
    p.openai.respond();
    await p?.close();
  });

  it('answers one conversation in order and another in parallel', async () => {
    const seen: { text: string; at: number }[] = [];
    p.openai.respond((req: ChatRequest) => {
      const last = String(req.messages.at(-1)!.content);
      seen.push({ text: last, at: Date.now() });
      // The first message is slow to answer; everything else is quick.
      return { ...echoReply(req), ...(last === 'first, slowly' && { delayMs: 1_500 }) };
    });
    const root = await mention(p, t, 'first, slowly');
    await mention(p, t, 'second', { threadTs: root.threadTs });
    await new Promise((r) => setTimeout(r, 100));
    const other = await mention(p, t, 'another customer');

    const [otherReply] = await waitForThreadPosts(p, other.threadTs, 1);
    expect(otherReply!.text).toBe('Echo: another customer');
    // The other conversation was answered while the first was still waiting for its model.
    expect(p.slack.posts().filter((x) => x.thread_ts === root.threadTs)).toHaveLength(0);

    const posts = await waitForThreadPosts(p, root.threadTs, 2);
    expect(posts.map((x) => x.text)).toEqual(['Echo: first, slowly', 'Echo: second']);
    // The second message went to the model only after the first was answered, with that answer in its history.
    const second = p.openai.chatRequests().find((r) => r.messages.at(-1)!.content === 'second')!;
    expect(second.messages.map((m) => m.content)).toEqual([expect.any(String), 'first, slowly', 'Echo: first, slowly', 'second']);
    const firstAt = seen.find((s) => s.text === 'first, slowly')!.at;
    const secondAt = seen.find((s) => s.text === 'second')!.at;
    expect(secondAt - firstAt).toBeGreaterThanOrEqual(1_400);
  }, 30_000);
});
