import { describe, expect, it } from 'vitest';
import { CUSTOMER_SERVICE_WINDOW_MS, insideCustomerServiceWindow, templateParameterText, templatePayload, textPayload } from './whatsapp-window.ts';
import { outsideWindowTemplateFrom } from '../channels/whatsapp/connections.ts';

describe('insideCustomerServiceWindow', () => {
  const now = Date.parse('2026-01-10T12:00:00Z');
  it('is open for 24 hours after the user last wrote, and closed after', () => {
    expect(CUSTOMER_SERVICE_WINDOW_MS).toBe(86_400_000);
    expect(insideCustomerServiceWindow(new Date(now - 60_000), now)).toBe(true);
    expect(insideCustomerServiceWindow(new Date(now - CUSTOMER_SERVICE_WINDOW_MS + 1), now)).toBe(true);
    expect(insideCustomerServiceWindow(new Date(now - CUSTOMER_SERVICE_WINDOW_MS), now)).toBe(false);
    expect(insideCustomerServiceWindow(new Date(now - 25 * 3600_000), now)).toBe(false);
  });
  it('is closed when the user never wrote', () => {
    expect(insideCustomerServiceWindow(null, now)).toBe(false);
  });
});

describe('outside-window template configuration', () => {
  it('reads settings.whatsapp.outsideWindowTemplate, defaulting to the reply as body parameter', () => {
    expect(outsideWindowTemplateFrom({ whatsapp: { outsideWindowTemplate: { name: 'order_update', language: 'en_US' } } })).toEqual({
      name: 'order_update',
      language: 'en_US',
      replyTextParameter: true,
    });
    expect(
      outsideWindowTemplateFrom({ whatsapp: { outsideWindowTemplate: { name: 'ping', language: 'de', replyTextParameter: false } } })
        ?.replyTextParameter,
    ).toBe(false);
  });
  it('treats missing or malformed configuration as none', () => {
    expect(outsideWindowTemplateFrom({})).toBeNull();
    expect(outsideWindowTemplateFrom(null)).toBeNull();
    expect(outsideWindowTemplateFrom({ whatsapp: { outsideWindowTemplate: { name: 'x' } } })).toBeNull();
    expect(outsideWindowTemplateFrom({ whatsapp: { outsideWindowTemplate: 'order_update' } })).toBeNull();
  });
});

describe('payloads', () => {
  it('builds the Cloud API text message', () => {
    expect(textPayload('16505551234', 'Hello', 'kr1:x#0')).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '16505551234',
      type: 'text',
      text: { preview_url: false, body: 'Hello' },
      biz_opaque_callback_data: 'kr1:x#0',
    });
  });

  it('builds the template message, with the reply flattened into {{1}}', () => {
    const p = templatePayload({ name: 'order_update', language: 'en_US', replyTextParameter: true }, '1650', 'Line one\n\nLine\ttwo', 'cb');
    expect(p).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '1650',
      type: 'template',
      template: {
        name: 'order_update',
        language: { code: 'en_US' },
        components: [{ type: 'body', parameters: [{ type: 'text', text: 'Line one Line two' }] }],
      },
      biz_opaque_callback_data: 'cb',
    });
    const bare = templatePayload({ name: 'ping', language: 'en', replyTextParameter: false }, '1650', 'x', 'cb');
    expect((bare.template as Record<string, unknown>).components).toBeUndefined();
  });

  it('keeps template parameters within Meta’s rules', () => {
    expect(templateParameterText('a      b')).toBe('a   b');
    const long = templateParameterText('y'.repeat(5000));
    expect(long.length).toBe(1024);
    expect(long.endsWith('…')).toBe(true);
  });
});
