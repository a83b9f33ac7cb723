import { randomUUID } from 'node:crypto';
import { newTraceparent, type KonstructMessageV1 } from '@konstruct/core';

/** The parts of a Slack Events API envelope we read. */
export interface SlackEnvelope {
  type: string;
  team_id?: string;
  api_app_id?: string;
  event_id?: string;
  challenge?: string;
  authorizations?: { user_id?: string; is_bot?: boolean }[];
  event?: SlackEvent;
}

export interface SlackEvent {
  type: string;
  subtype?: string;
  user?: string;
  bot_id?: string;
  text?: string;
  ts?: string;
  thread_ts?: string;
  channel?: string;
  channel_type?: string;
}

export type Route = { tenantId: string; connectionId: string; botUserId: string | null };

export type Decision = { kind: 'publish'; message: KonstructMessageV1 } | { kind: 'ignore'; reason: string };

/**
 * Subtypes that are not a person talking to the employee: edits, deletions, joins, and any
 * bot's messages. Replying to them is how bots end up answering themselves.
 */
const IGNORED_SUBTYPES = new Set([
  'message_changed',
  'message_deleted',
  'message_replied',
  'bot_message',
  'channel_join',
  'channel_leave',
  'group_join',
  'group_leave',
  'channel_topic',
  'channel_purpose',
  'channel_name',
  'pinned_item',
  'unpinned_item',
  'ekm_access_denied',
]);

/** Decides whether an event is addressed to the employee and, if so, normalizes it. */
export function normalizeSlackEvent(env: SlackEnvelope, route: Route, now = new Date()): Decision {
  const ev = env.event;
  if (!ev) return { kind: 'ignore', reason: 'no event' };
  if (ev.subtype && IGNORED_SUBTYPES.has(ev.subtype)) return { kind: 'ignore', reason: `subtype ${ev.subtype}` };
  if (ev.bot_id) return { kind: 'ignore', reason: 'bot message' };
  const botUser = route.botUserId ?? env.authorizations?.find((a) => a.is_bot)?.user_id;
  if (ev.user && botUser && ev.user === botUser) return { kind: 'ignore', reason: 'own message' };
  if (ev.type !== 'app_mention') return { kind: 'ignore', reason: `event ${ev.type} not handled` };
  if (!ev.user || !ev.ts || !ev.channel || !env.team_id) return { kind: 'ignore', reason: 'incomplete event' };

  const root = ev.thread_ts ?? ev.ts;
  const text = stripMention(ev.text ?? '', botUser);
  return {
    kind: 'publish',
    message: {
      v: 1,
      id: randomUUID(),
      tenantId: route.tenantId,
      channel: { kind: 'slack', connectionId: route.connectionId, address: ev.channel },
      conversation: { ref: `slack:${env.team_id}:${ev.channel}:${root}` },
      externalId: `${ev.channel}:${ev.ts}`,
      sender: { externalId: ev.user },
      text,
      attachments: [],
      thread: { replyTo: root, inThread: ev.thread_ts !== undefined },
      receivedAt: now.toISOString(),
      trace: { traceparent: newTraceparent() },
    },
  };
}

function stripMention(text: string, botUser: string | undefined): string {
  const cleaned = botUser ? text.replaceAll(`<@${botUser}>`, '') : text.replace(/^<@[A-Z0-9]+>/, '');
  return cleaned.replace(/\s+/g, ' ').trim();
}

/** Idempotency key of a Slack message: a retry and the duplicate `message.channels` delivery share it. */
export function slackDedupKey(env: SlackEnvelope): string | null {
  const ev = env.event;
  if (!env.team_id || !ev?.channel || !ev.ts) return null;
  return `slack:${env.team_id}:${ev.channel}:${ev.ts}`;
}
