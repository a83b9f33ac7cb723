import type { OutsideWindowTemplate } from '../channels/whatsapp/connections.ts';

/** Meta's customer-service window: free-form messages only within 24 h of the user's last message. */
export const CUSTOMER_SERVICE_WINDOW_MS = 24 * 60 * 60 * 1000;

/**
 * Whether a free-form reply may go out now. The runner sets the conversation's `lastInboundAt`
 * to the time the user wrote (Meta's timestamp) on every inbound message. No inbound at all
 * means the window was never opened.
 */
export function insideCustomerServiceWindow(lastInboundAt: Date | null, now: number = Date.now()): boolean {
  if (!lastInboundAt) return false;
  return now - lastInboundAt.getTime() < CUSTOMER_SERVICE_WINDOW_MS;
}

/** Template body parameters may not contain newlines, tabs or more than four spaces in a row. */
export function templateParameterText(text: string, max = 1024): string {
  const flat = text.replace(/[\r\n\t]+/g, ' ').replace(/ {4,}/g, '   ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The Cloud API request for a reply sent as the approved template. */
export function templatePayload(
  template: OutsideWindowTemplate,
  to: string,
  replyText: string,
  callback: string,
): Record<string, unknown> {
  return {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    to,
    type: 'template',
    template: {
      name: template.name,
      language: { code: template.language },
      ...(template.replyTextParameter
        ? { components: [{ type: 'body', parameters: [{ type: 'text', text: templateParameterText(replyText) }] }] }
        : {}),
    },
    biz_opaque_callback_data: callback,
  };
}

/** The Cloud API request for a free-form text reply. */
export function textPayload(to: string, body: string, callback: string): Record<string, unknown> {
  return {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    to,
    type: 'text',
    text: { preview_url: false, body },
    biz_opaque_callback_data: callback,
  };
}
