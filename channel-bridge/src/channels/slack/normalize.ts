import { randomUUID } from 'node:crypto';
import { attachmentMarkers, newTraceparent, type Attachment, type KonstructMessageV1 } from '@konstruct/core';
import { slackConversationRef } from './threads.ts';

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
  bot_profile?: unknown;
  text?: string;
  ts?: string;
  thread_ts?: string;
  channel?: string;
  channel_type?: string;
  /** A `file_share`'s files (Slack file objects; only what we keep is named here). */
  files?: unknown;
}

export type Route = { tenantId: string; connectionId: string; botUserId: string | null };

/**
 * Why the employee should answer: it was @-mentioned (in a channel or a thread), it was
 * written to directly (a DM), or someone replied in a thread it takes part in — the last one
 * only holds once the caller has checked participation.
 */
export type Addressed = 'mention' | 'direct' | 'thread';

/** Where a message sits: the thread root is what replies go under and what names the conversation. */
export interface SlackThreadRef {
  teamId: string;
  channel: string;
  rootTs: string;
}

export type Decision =
  | { kind: 'publish'; message: KonstructMessageV1; addressed: Addressed; thread: SlackThreadRef }
  | { kind: 'ignore'; reason: string };

/**
 * Message subtypes that are a person writing. Everything else — edits, deletions, joins and
 * leaves, topic changes, bot messages, and subtypes Slack adds later — is not someone talking
 * to the employee, and answering it is how bots end up talking to themselves.
 */
const HUMAN_SUBTYPES = new Set(['thread_broadcast', 'file_share']);

/**
 * Decides whether an event is addressed to the employee and, if so, normalizes it. Pure: a
 * thread reply comes back as `addressed: 'thread'` and the caller must still check that the
 * employee takes part in that thread.
 *
 * A channel mention is delivered twice, as `app_mention` and as `message.channels` with the
 * same ts; both are recognised as the mention and normalize to the same message, so whichever
 * arrives first is published and the idempotency key drops the other.
 *
 * Replies always go in a thread: under the thread root when the message is in a thread,
 * otherwise under the message itself. That holds in DMs too: each top-level DM starts its own
 * threaded conversation, as Slack's assistant apps do, so a reply never lands between the
 * user's later messages and each conversation keeps its own history.
 */
export function normalizeSlackEvent(env: SlackEnvelope, route: Route, now = new Date()): Decision {
  const ev = env.event;
  if (!ev) return { kind: 'ignore', reason: 'no event' };
  if (!wellFormed(env, ev)) return { kind: 'ignore', reason: 'malformed event' };
  if (ev.type !== 'app_mention' && ev.type !== 'message') return { kind: 'ignore', reason: `event ${ev.type} not handled` };
  if (ev.subtype !== undefined && !HUMAN_SUBTYPES.has(ev.subtype)) return { kind: 'ignore', reason: `subtype ${ev.subtype}` };
  // Any bot, ours or another: two bots answering each other never stop.
  if (ev.bot_id || ev.bot_profile) return { kind: 'ignore', reason: 'bot message' };
  const authorizedBot = env.authorizations?.find((a) => a?.is_bot === true)?.user_id;
  const botUser = route.botUserId ?? (typeof authorizedBot === 'string' ? authorizedBot : undefined);
  if (ev.user && botUser && ev.user === botUser) return { kind: 'ignore', reason: 'own message' };
  if (!ev.user || !ev.ts || !ev.channel || !env.team_id) return { kind: 'ignore', reason: 'incomplete event' };

  const text = ev.text ?? '';
  const inThread = ev.thread_ts !== undefined && ev.thread_ts !== ev.ts;
  let addressed: Addressed;
  if (ev.type === 'message' && ev.channel_type === 'im') addressed = 'direct';
  else if (ev.type === 'app_mention' || (botUser !== undefined && mentions(text, botUser))) addressed = 'mention';
  else if (inThread) addressed = 'thread';
  else return { kind: 'ignore', reason: 'not addressed to the employee' };

  const rootTs = inThread ? ev.thread_ts! : ev.ts;
  const written = stripMention(text, botUser);
  const attachments = slackFiles(ev.files);
  return {
    kind: 'publish',
    addressed,
    thread: { teamId: env.team_id, channel: ev.channel, rootTs },
    message: {
      v: 1,
      id: randomUUID(),
      tenantId: route.tenantId,
      channel: { kind: 'slack', connectionId: route.connectionId, address: ev.channel },
      conversation: { ref: slackConversationRef(env.team_id, ev.channel, rootTs) },
      externalId: `${ev.channel}:${ev.ts}`,
      sender: { externalId: ev.user },
      // Files without words read as their markers, as WhatsApp media without a caption do.
      text: written.trim() ? written : attachmentMarkers(attachments) || written,
      attachments,
      thread: { replyTo: rootTs, inThread },
      receivedAt: now.toISOString(),
      trace: { traceparent: newTraceparent() },
    },
  };
}

const STRING_FIELDS = ['type', 'subtype', 'user', 'text', 'ts', 'thread_ts', 'channel', 'channel_type'] as const;

/** A signed body is Slack's, but a field of an unexpected type must not crash the route. */
const MAX_ATTACHMENTS = 20;

/**
 * A message's files as attachments, by reference: Slack's file id and its private URL (read
 * with the bot token), never the content. Files Slack withholds (deleted, or beyond a free
 * workspace's history) are left out; so is anything not shaped like a file object.
 */
export function slackFiles(files: unknown): Attachment[] {
  if (!Array.isArray(files)) return [];
  const out: Attachment[] = [];
  for (const f of files) {
    if (out.length === MAX_ATTACHMENTS) break;
    if (!f || typeof f !== 'object') continue;
    const file = f as Record<string, unknown>;
    const id = typeof file.id === 'string' && file.id.length > 0 && file.id.length <= 512 ? file.id : null;
    if (!id || file.mode === 'tombstone' || file.mode === 'hidden_by_limit') continue;
    const mimeType = typeof file.mimetype === 'string' && file.mimetype.length <= 255 ? file.mimetype : undefined;
    const rawName = typeof file.name === 'string' && file.name ? file.name : typeof file.title === 'string' ? file.title : '';
    const url = typeof file.url_private === 'string' && /^https:\/\//.test(file.url_private) && file.url_private.length <= 2048 ? file.url_private : undefined;
    const size = typeof file.size === 'number' && Number.isSafeInteger(file.size) && file.size >= 0 ? file.size : undefined;
    out.push({
      kind: fileKind(mimeType),
      externalId: id,
      ...(rawName && { name: rawName.slice(0, 1024) }),
      ...(mimeType && { mimeType }),
      ...(size !== undefined && { sizeBytes: size }),
      ...(url && { url }),
    });
  }
  return out;
}

function fileKind(mimeType: string | undefined): Attachment['kind'] {
  const top = mimeType?.split('/')[0];
  if (top === 'image' || top === 'audio' || top === 'video') return top;
  if (mimeType && (top === 'text' || /pdf|msword|officedocument|opendocument|rtf|csv/.test(mimeType))) return 'document';
  return 'file';
}

function wellFormed(env: SlackEnvelope, ev: SlackEvent): boolean {
  if (typeof ev !== 'object' || Array.isArray(ev)) return false;
  if (env.team_id !== undefined && typeof env.team_id !== 'string') return false;
  if (env.authorizations !== undefined && !Array.isArray(env.authorizations)) return false;
  return STRING_FIELDS.every((f) => ev[f] === undefined || typeof ev[f] === 'string');
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Slack writes a mention as `<@U123>` or, from some clients, `<@U123|name>`. */
const mentionRe = (user: string) => new RegExp(`<@${escapeRe(user)}(?:\\|[^>]*)?>`, 'g');

function mentions(text: string, botUser: string): boolean {
  return mentionRe(botUser).test(text);
}

function stripMention(text: string, botUser: string | undefined): string {
  const cleaned = botUser ? text.replace(mentionRe(botUser), '') : text.replace(/^<@[A-Z0-9]+(?:\|[^>]*)?>/, '');
  return cleaned.replace(/\s+/g, ' ').trim();
}

/**
 * Idempotency key of a Slack message within a tenant: a retry and the duplicate
 * `message.channels` delivery of a mention share it. The tenant is part of it because one
 * workspace can hold several tenants' apps (the platform app and a tenant's own), each of
 * which receives the same channel message.
 */
export function slackDedupKey(env: SlackEnvelope, tenantId: string): string | null {
  const ev = env.event;
  if (!env.team_id || !ev?.channel || !ev.ts) return null;
  return `slack:${tenantId}:${env.team_id}:${ev.channel}:${ev.ts}`;
}
