import { expect } from 'vitest';
import { postSlack, slackFixture } from './slack.ts';
import type { Platform, SlackTenant } from './platform.ts';

let counter = 0;

/** A Slack ts that no other message of this process has (Slack's `seconds.micros` form). */
export function uniqueTs(): string {
  counter += 1;
  return `${Math.floor(Date.now() / 1000)}.${String((process.pid * 1000 + counter) % 1_000_000).padStart(6, '0')}`;
}

/**
 * A signed-to-be app_mention from `tenant`'s workspace, as Slack sends it. Without `threadTs`
 * the message starts its own thread (a new conversation); with it, it continues that one.
 */
export function mentionEvent(
  tenant: Pick<SlackTenant, 'teamId'>,
  text: string,
  opts: { ts?: string; threadTs?: string; channel?: string; user?: string } = {},
): { payload: Record<string, any>; ts: string; threadTs: string; channel: string } {
  const ev = slackFixture('app_mention');
  const ts = opts.ts ?? uniqueTs();
  const channel = opts.channel ?? 'C0CUSTOMER';
  ev.team_id = tenant.teamId;
  ev.authorizations[0].team_id = tenant.teamId;
  ev.event_id = `Ev${ts.replace('.', '')}${counter}`;
  ev.event.ts = ev.event.event_ts = ts;
  ev.event.text = `<@U0BOTUSER> ${text}`;
  ev.event.channel = channel;
  ev.event.user = opts.user ?? 'U061F7AUR';
  ev.event.client_msg_id = `msg-${ts}`;
  if (opts.threadTs) ev.event.thread_ts = opts.threadTs;
  return { payload: ev, ts, threadTs: opts.threadTs ?? ts, channel };
}

/** Posts a mention (see mentionEvent) and expects Slack's 200. */
export async function mention(
  p: Platform,
  tenant: SlackTenant,
  text: string,
  opts: { ts?: string; threadTs?: string; channel?: string; user?: string } = {},
): Promise<{ ts: string; threadTs: string }> {
  const m = mentionEvent(tenant, text, opts);
  expect((await postSlack(p.bridge.url, m.payload, p.signingSecret)).status).toBe(200);
  return { ts: m.ts, threadTs: m.threadTs };
}

/** The posts the fake Slack received in one thread, in order. */
export function postsIn(p: Platform, threadTs: string) {
  return p.slack.posts().filter((x) => x.thread_ts === threadTs);
}

/** Waits until `n` posts arrived in the thread and returns them. */
export async function waitForThreadPosts(p: Platform, threadTs: string, n: number, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const posts = postsIn(p, threadTs);
    if (posts.length >= n) return posts;
    if (Date.now() > deadline) throw new Error(`expected ${n} posts in thread ${threadTs}, got ${posts.length}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A plain message (no mention) in a thread, as Slack sends it for a reply in a thread. */
export async function threadMessage(
  p: Platform,
  tenant: SlackTenant,
  text: string,
  opts: { threadTs: string; channel: string; user?: string; files?: Record<string, unknown>[] },
): Promise<{ ts: string }> {
  const ev = slackFixture('thread_reply');
  const ts = uniqueTs();
  ev.team_id = tenant.teamId;
  ev.authorizations[0].team_id = tenant.teamId;
  ev.event_id = `Ev${ts.replace('.', '')}T${counter}`;
  ev.event.ts = ev.event.event_ts = ts;
  ev.event.thread_ts = opts.threadTs;
  ev.event.channel = opts.channel;
  ev.event.user = opts.user ?? 'U0HUMAN01';
  ev.event.parent_user_id = 'U0BOTUSER';
  ev.event.text = text;
  ev.event.client_msg_id = `msg-${ts}`;
  if (opts.files) {
    ev.event.subtype = 'file_share';
    ev.event.files = opts.files;
  }
  expect((await postSlack(p.bridge.url, ev, p.signingSecret)).status).toBe(200);
  return { ts };
}
