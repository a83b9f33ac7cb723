import type { WebClient } from '@slack/web-api';

/** Every part of a reply carries this Slack message metadata, so a later reader can tell it is ours. */
export const REPLY_EVENT_TYPE = 'konstruct_reply';

export function replyMetadata(replyId: string, part: number, parts: number) {
  return { event_type: REPLY_EVENT_TYPE, event_payload: { reply_id: replyId, part, parts } };
}

export interface ReplyLocation {
  channel: string;
  /** Thread the reply goes to; without one the parts are top-level messages of the channel. */
  threadTs?: string;
  /** No part can be older than this (the reply row's creation). */
  since: Date;
}

// Clocks of Slack and ours may disagree; a wider window only costs a few more messages read.
const SKEW_MARGIN_MS = 10 * 60_000;
const PAGE_SIZE = 200;
const MAX_PAGES = 25;

type Message = { ts?: string; metadata?: { event_type?: string; event_payload?: Record<string, unknown> } };

/**
 * Reads back where a reply would have been posted and returns the parts of it found there
 * (part index → ts), by our message metadata. Used when a delivery finds a reply already
 * claimed: the previous attempt may have posted parts it never got to record. Errors are the
 * caller's to classify; whatever happens here, nothing is posted.
 */
export async function findPostedParts(client: WebClient, where: ReplyLocation, replyId: string): Promise<Map<number, string>> {
  const found = new Map<number, string>();
  const oldest = slackTs(where.since.getTime() - SKEW_MARGIN_MS);
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const common = { channel: where.channel, oldest, include_all_metadata: true, limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) };
    const res = where.threadTs
      ? await client.conversations.replies({ ...common, ts: where.threadTs })
      : await client.conversations.history(common);
    for (const m of (res.messages ?? []) as Message[]) {
      const payload = m.metadata?.event_type === REPLY_EVENT_TYPE ? m.metadata.event_payload : undefined;
      if (!m.ts || payload?.reply_id !== replyId) continue;
      const part = Number(payload.part);
      if (Number.isInteger(part) && part >= 0 && !found.has(part)) found.set(part, m.ts);
    }
    cursor = res.response_metadata?.next_cursor || undefined;
    if (!res.has_more || !cursor) break;
  }
  return found;
}

function slackTs(epochMs: number): string {
  const ms = Math.max(0, epochMs);
  return `${Math.floor(ms / 1000)}.${String((ms % 1000) * 1000).padStart(6, '0')}`;
}
