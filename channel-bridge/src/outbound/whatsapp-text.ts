/** WhatsApp's limit for a text message body. */
export const WHATSAPP_TEXT_LIMIT = 4096;
/** Replies coalesced into one message at most (the callback data names each). */
export const MAX_COALESCED = 10;

/**
 * Splits a reply into bodies WhatsApp accepts, preferring paragraph, then line, then word
 * boundaries. Each part is one message, and each message to a user costs a 6-second pair slot,
 * so a reply is only split when it must be.
 */
export function splitWhatsAppText(text: string, limit = WHATSAPP_TEXT_LIMIT): string[] {
  const parts: string[] = [];
  let rest = text.trim();
  while (rest.length > limit) {
    const window = rest.slice(0, limit + 1);
    let cut = window.lastIndexOf('\n\n');
    if (cut < limit / 2) cut = window.lastIndexOf('\n');
    if (cut < limit / 2) cut = window.lastIndexOf(' ');
    if (cut < limit / 2) cut = limit;
    parts.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest.length || parts.length === 0) parts.push(rest);
  return parts;
}

/** How several replies waiting for one user read as a single message. */
export function coalesceTexts(texts: string[]): string {
  return texts.map((t) => t.trim()).join('\n\n');
}

/**
 * `biz_opaque_callback_data` on each send: Meta echoes it in the status webhooks of that
 * message, which is how a reply whose send outcome we never learned (crash or timeout after
 * the Graph call) is recognised as sent. Names the reply ids and, for a long reply sent in
 * parts, the part. Meta allows 512 characters: ten UUIDs and a part fit.
 */
const CALLBACK_PREFIX = 'kr1:';

export function callbackData(replyIds: string[], part: number | 'template'): string {
  return `${CALLBACK_PREFIX}${replyIds.join(',')}#${part === 'template' ? 't' : part}`;
}

export interface CallbackData {
  replyIds: string[];
  /** Part of a long reply (0 for a single message or a template). */
  part: number;
  /** Sent as the approved template (outside the 24-hour window). */
  template: boolean;
}

export function parseCallbackData(data: string | undefined): CallbackData | null {
  if (!data?.startsWith(CALLBACK_PREFIX)) return null;
  const [ids = '', partText = '0'] = data.slice(CALLBACK_PREFIX.length).split('#');
  const replyIds = ids.split(',').filter((id) => /^[0-9a-f-]{36}$/i.test(id));
  const template = partText === 't';
  const part = template ? 0 : Number(partText);
  if (!replyIds.length || !Number.isInteger(part) || part < 0) return null;
  return { replyIds, part, template };
}
