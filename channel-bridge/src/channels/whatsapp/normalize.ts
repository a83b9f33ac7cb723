import { randomUUID } from 'node:crypto';
import { newTraceparent, type Attachment, type KonstructMessageV1 } from '@konstruct/core';
import type { WaMessage, WaValue } from './payload.ts';
import { arr, id, num, obj, str } from './fields.ts';
import type { WhatsAppRoute } from './routing.ts';

/** A reaction (emoji on an earlier message): recorded in the conversation, the employee is not invoked. */
export interface WaReaction {
  /** wamid of the reaction event itself (idempotency key). */
  externalId: string;
  from: string;
  displayName?: string;
  /** Empty when the user removed their reaction. */
  emoji: string;
  /** wamid of the message reacted to. */
  messageId: string;
  conversationRef: string;
  receivedAt: string;
}

export type WaDecision =
  | { kind: 'publish'; message: KonstructMessageV1 }
  | { kind: 'reaction'; reaction: WaReaction }
  | { kind: 'ignore'; reason: string };

const MEDIA_KINDS = ['image', 'document', 'audio', 'video', 'sticker'] as const;
type MediaKind = (typeof MEDIA_KINDS)[number];

/** One conversation per contact and business number. */
export function whatsappConversationRef(phoneNumberId: string, waId: string): string {
  return `whatsapp:${phoneNumberId}:${waId}`;
}

/** Idempotency key of an inbound WhatsApp message: Meta retries a webhook with the same wamid. */
export function whatsappDedupKey(phoneNumberId: string, wamid: string): string {
  return `whatsapp:${phoneNumberId}:${wamid}`;
}

/**
 * Normalizes one entry of `value.messages`. Text, interactive replies, media, location and
 * contacts become a KonstructMessage; reactions are recorded without waking the employee (a
 * 👍 should not cost the user a reply); anything else Meta may add is passed on as a short
 * description so the employee can say it cannot read it, rather than being dropped. Fields of
 * the wrong type count as absent (see fields.ts).
 */
export function normalizeWhatsAppMessage(raw: WaMessage | unknown, value: WaValue | unknown, route: WhatsAppRoute, now = new Date()): WaDecision {
  const m = obj(raw);
  const wamid = id(m?.id);
  const from = id(m?.from);
  if (!m || !wamid || !from) return { kind: 'ignore', reason: 'message without id or sender' };
  const type = str(m.type, 64) ?? 'unknown';
  if (type === 'system') return { kind: 'ignore', reason: `system message ${str(obj(m.system)?.type, 64) ?? ''}`.trim() };

  const contacts = arr(obj(value)?.contacts).map(obj);
  const contact = contacts.find((c) => c?.wa_id === from) ?? contacts[0];
  const displayName = str(obj(contact?.profile)?.name, 256) || undefined;
  const receivedAt = vendorTime(m.timestamp, now);
  const conversationRef = whatsappConversationRef(route.phoneNumberId, from);
  const context = obj(m.context);
  const replyTo = id(context?.id);

  if (type === 'reaction') {
    const reaction = obj(m.reaction);
    const reactedTo = id(reaction?.message_id);
    if (!reactedTo) return { kind: 'ignore', reason: 'reaction without message id' };
    return {
      kind: 'reaction',
      reaction: {
        externalId: wamid,
        from,
        ...(displayName ? { displayName } : {}),
        emoji: str(reaction?.emoji, 32) ?? '',
        messageId: reactedTo,
        conversationRef,
        receivedAt,
      },
    };
  }

  let text: string;
  const attachments: Attachment[] = [];
  let interactive: KonstructMessageV1['interactive'];

  if (type === 'text') {
    text = str(obj(m.text)?.body, 40_000) ?? '';
  } else if (type === 'interactive') {
    const i = obj(m.interactive);
    const kind = str(i?.type, 64);
    const button = obj(i?.button_reply);
    const row = obj(i?.list_reply);
    if (kind === 'button_reply' && button) {
      text = str(button.title, 256) ?? '';
      interactive = { kind: 'button_reply', id: str(button.id, 256) ?? '', title: text };
    } else if (kind === 'list_reply' && row) {
      text = str(row.title, 256) ?? '';
      const description = str(row.description, 1024);
      interactive = { kind: 'list_reply', id: str(row.id, 256) ?? '', title: text, ...(description ? { description } : {}) };
    } else {
      text = `[interactive ${kind ?? 'reply'}]`;
    }
  } else if (type === 'button') {
    const button = obj(m.button);
    text = str(button?.text, 256) ?? '';
    interactive = { kind: 'quick_reply', id: str(button?.payload, 256) ?? '', title: text };
  } else if ((MEDIA_KINDS as readonly string[]).includes(type)) {
    const kind = type as MediaKind;
    const media = obj(m[kind]) ?? {};
    const attachment = mediaAttachment(kind, media);
    attachments.push(attachment);
    text = attachment.caption ?? `[${kind === 'audio' && media.voice === true ? 'voice message' : kind}${attachment.name ? `: ${attachment.name}` : ''}]`;
  } else if (type === 'location') {
    const l = obj(m.location);
    const latitude = num(l?.latitude);
    const longitude = num(l?.longitude);
    if (latitude === undefined || longitude === undefined) return { kind: 'ignore', reason: 'location without coordinates' };
    const name = str(l?.name, 1024);
    const address = str(l?.address, 1024);
    const url = str(l?.url, 2048);
    attachments.push({
      kind: 'location',
      ...(url && /^https?:\/\//.test(url) && URL.canParse(url) ? { url } : {}),
      location: { latitude, longitude, ...(name ? { name } : {}), ...(address ? { address } : {}) },
    });
    const label = [name, address].filter(Boolean).join(', ');
    text = `[location${label ? `: ${label}` : ''} (${latitude}, ${longitude})]`;
  } else if (type === 'contacts') {
    const shared = arr(m.contacts).map((raw) => {
      const c = obj(raw);
      const phones = arr(c?.phones).map((p) => str(obj(p)?.phone, 64) ?? str(obj(p)?.wa_id, 64)).filter(Boolean);
      return `${str(obj(c?.name)?.formatted_name, 256) ?? 'contact'}${phones.length ? ` (${phones.join(', ')})` : ''}`;
    });
    text = `[shared contact: ${shared.join('; ') || 'empty'}]`;
  } else {
    const error = obj(arr(m.errors)[0]);
    const why = str(error?.title, 256) ?? str(error?.message, 256);
    text = `[the user sent a ${type} message that cannot be shown here${why ? `: ${why}` : ''}]`;
  }

  return {
    kind: 'publish',
    message: {
      v: 1,
      id: randomUUID(),
      tenantId: route.tenantId,
      channel: { kind: 'whatsapp', connectionId: route.connectionId, address: route.phoneNumberId },
      conversation: { ref: conversationRef },
      externalId: wamid,
      sender: { externalId: from, ...(displayName ? { displayName } : {}) },
      text: text.length > 40_000 ? text.slice(0, 40_000) : text,
      attachments,
      ...(interactive ? { interactive } : {}),
      thread: { ...(replyTo ? { replyTo } : {}), inThread: replyTo !== undefined },
      receivedAt,
      trace: { traceparent: newTraceparent() },
    },
  };
}

function mediaAttachment(kind: MediaKind, media: Record<string, unknown>): Attachment {
  const mediaId = id(media.id);
  const mimeType = str(media.mime_type, 255);
  const sha256 = str(media.sha256, 128);
  const caption = str(media.caption, 4096);
  const name = str(media.filename, 1024);
  return {
    kind,
    ...(mediaId ? { externalId: mediaId } : {}),
    ...(mimeType ? { mimeType } : {}),
    ...(sha256 ? { sha256 } : {}),
    ...(caption ? { caption } : {}),
    ...(name ? { name } : {}),
  };
}

/**
 * When the user wrote, by Meta's clock: the 24-hour window runs from it, and a webhook Meta
 * retries hours later must not look fresh. Never in the future (clock skew).
 */
function vendorTime(timestamp: unknown, now: Date): string {
  const seconds = typeof timestamp === 'string' || typeof timestamp === 'number' ? Number(timestamp) : NaN;
  if (!Number.isFinite(seconds) || seconds <= 0) return now.toISOString();
  return new Date(Math.min(seconds * 1000, now.getTime())).toISOString();
}
