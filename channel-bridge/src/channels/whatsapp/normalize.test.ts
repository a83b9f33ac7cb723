import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KonstructMessageV1 } from '@konstruct/core';
import { normalizeWhatsAppMessage, whatsappConversationRef, whatsappDedupKey, type WaDecision } from './normalize.ts';
import type { WaMessage, WaValue, WaWebhook } from './payload.ts';
import type { WhatsAppRoute } from './routing.ts';

function fixture(name: string): WaWebhook {
  return JSON.parse(readFileSync(new URL(`../../../../test/fixtures/whatsapp/${name}.json`, import.meta.url), 'utf8')) as WaWebhook;
}
const valueOf = (w: WaWebhook): WaValue => w.entry![0]!.changes![0]!.value!;

const route: WhatsAppRoute = { tenantId: randomUUID(), connectionId: randomUUID(), phoneNumberId: '106540352242922' };
const now = new Date('2024-11-26T09:30:00.000Z');

/** A generated message in the webhook's shape, next to the fixture's contact. */
function generated(message: WaMessage): { m: WaMessage; value: WaValue } {
  const value = valueOf(fixture('text'));
  value.messages = [message];
  return { m: message, value };
}

function published(d: WaDecision) {
  if (d.kind !== 'publish') throw new Error(`expected publish, got ${d.kind}: ${'reason' in d ? d.reason : ''}`);
  const parsed = KonstructMessageV1.safeParse(d.message);
  expect(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues)).toBe(true);
  expect(parsed.data).toEqual(d.message);
  return d.message;
}

const base = { from: '16505551234', id: 'wamid.GENERATED0001', timestamp: '1732612600' };

describe('normalizeWhatsAppMessage — fixtures', () => {
  it('normalizes a text message', () => {
    const w = fixture('text');
    const value = valueOf(w);
    const msg = published(normalizeWhatsAppMessage(value.messages![0]!, value, route, now));
    expect(msg.tenantId).toBe(route.tenantId);
    expect(msg.channel).toEqual({ kind: 'whatsapp', connectionId: route.connectionId, address: '106540352242922' });
    expect(msg.conversation.ref).toBe('whatsapp:106540352242922:16505551234');
    expect(msg.externalId).toBe('wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=');
    expect(msg.sender).toEqual({ externalId: '16505551234', displayName: 'Sheena Nelson' });
    expect(msg.text).toBe('Hi, is my order #4411 shipped yet?');
    expect(msg.attachments).toEqual([]);
    expect(msg.thread).toEqual({ inThread: false });
    // Meta's timestamp, not the time we processed it: the 24-hour window runs from it.
    expect(msg.receivedAt).toBe('2024-11-26T09:12:25.000Z');
  });

  it('normalizes an interactive button reply: title as text, id kept, context as replyTo', () => {
    const value = valueOf(fixture('interactive_button_reply'));
    const msg = published(normalizeWhatsAppMessage(value.messages![0]!, value, route, now));
    expect(msg.text).toBe('Talk to a person');
    expect(msg.interactive).toEqual({ kind: 'button_reply', id: 'talk_to_human', title: 'Talk to a person' });
    expect(msg.thread).toEqual({ replyTo: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3NTUxOTE5MDNBMjZBNUJGQjEA', inThread: true });
  });

  it('normalizes an image with its media metadata, caption as text', () => {
    const value = valueOf(fixture('image'));
    const msg = published(normalizeWhatsAppMessage(value.messages![0]!, value, route, now));
    expect(msg.text).toBe('the box arrived damaged');
    expect(msg.attachments).toEqual([
      {
        kind: 'image',
        externalId: '1203485745067829',
        mimeType: 'image/jpeg',
        sha256: 'pJvqMJOp0hnhnD0mLM6ZLr0Ba/bKCsRs1TWcYrsnKA0=',
        caption: 'the box arrived damaged',
      },
    ]);
  });
});

describe('normalizeWhatsAppMessage — generated payloads', () => {
  it('normalizes a list reply with its id and description', () => {
    const { m, value } = generated({
      ...base,
      type: 'interactive',
      context: { from: '15550783881', id: 'wamid.LISTPROMPT' },
      interactive: { type: 'list_reply', list_reply: { id: 'ship_express', title: 'Express shipping', description: 'Arrives tomorrow' } },
    });
    const msg = published(normalizeWhatsAppMessage(m, value, route, now));
    expect(msg.text).toBe('Express shipping');
    expect(msg.interactive).toEqual({ kind: 'list_reply', id: 'ship_express', title: 'Express shipping', description: 'Arrives tomorrow' });
    expect(msg.thread.replyTo).toBe('wamid.LISTPROMPT');
  });

  it('normalizes a template quick-reply button', () => {
    const { m, value } = generated({ ...base, type: 'button', button: { payload: 'STOP_PROMOS', text: 'Stop promotions' } });
    const msg = published(normalizeWhatsAppMessage(m, value, route, now));
    expect(msg.text).toBe('Stop promotions');
    expect(msg.interactive).toEqual({ kind: 'quick_reply', id: 'STOP_PROMOS', title: 'Stop promotions' });
  });

  it('normalizes a document with file name and caption', () => {
    const { m, value } = generated({
      ...base,
      type: 'document',
      document: { caption: 'my invoice', filename: 'invoice-4411.pdf', mime_type: 'application/pdf', sha256: 'aGFzaA==', id: '998877' },
    });
    const msg = published(normalizeWhatsAppMessage(m, value, route, now));
    expect(msg.text).toBe('my invoice');
    expect(msg.attachments).toEqual([
      { kind: 'document', externalId: '998877', mimeType: 'application/pdf', sha256: 'aGFzaA==', caption: 'my invoice', name: 'invoice-4411.pdf' },
    ]);
  });

  it('describes a document without caption by its file name', () => {
    const { m, value } = generated({ ...base, type: 'document', document: { filename: 'photo.heic', mime_type: 'image/heic', sha256: 'x', id: '1' } });
    expect(published(normalizeWhatsAppMessage(m, value, route, now)).text).toBe('[document: photo.heic]');
  });

  it.each([
    ['audio', { mime_type: 'audio/ogg; codecs=opus', sha256: 'YXVkaW8=', id: '5551', voice: true }, '[voice message]'],
    ['video', { mime_type: 'video/mp4', sha256: 'dmlkZW8=', id: '5552' }, '[video]'],
    ['sticker', { mime_type: 'image/webp', sha256: 'c3RpY2s=', id: '5553', animated: false }, '[sticker]'],
  ])('normalizes %s as an attachment', (type, media, text) => {
    const { m, value } = generated({ ...base, type, [type]: media });
    const msg = published(normalizeWhatsAppMessage(m, value, route, now));
    expect(msg.text).toBe(text);
    expect(msg.attachments).toEqual([{ kind: type, externalId: media.id, mimeType: media.mime_type, sha256: media.sha256 }]);
  });

  it('normalizes a location with coordinates, name and address', () => {
    const { m, value } = generated({
      ...base,
      type: 'location',
      location: { latitude: 52.520008, longitude: 13.404954, name: 'Acme Store', address: 'Alexanderplatz 1, Berlin' },
    });
    const msg = published(normalizeWhatsAppMessage(m, value, route, now));
    expect(msg.attachments).toEqual([
      { kind: 'location', location: { latitude: 52.520008, longitude: 13.404954, name: 'Acme Store', address: 'Alexanderplatz 1, Berlin' } },
    ]);
    expect(msg.text).toBe('[location: Acme Store, Alexanderplatz 1, Berlin (52.520008, 13.404954)]');
  });

  it('turns a reaction into a reaction record, not a message for the employee', () => {
    const { m, value } = generated({ ...base, type: 'reaction', reaction: { message_id: 'wamid.OURREPLY', emoji: '👍' } });
    const d = normalizeWhatsAppMessage(m, value, route, now);
    expect(d).toEqual({
      kind: 'reaction',
      reaction: {
        externalId: 'wamid.GENERATED0001',
        from: '16505551234',
        displayName: 'Sheena Nelson',
        emoji: '👍',
        messageId: 'wamid.OURREPLY',
        conversationRef: 'whatsapp:106540352242922:16505551234',
        receivedAt: '2024-11-26T09:16:40.000Z',
      },
    });
  });

  it('keeps a removed reaction (empty emoji) as a reaction record', () => {
    const { m, value } = generated({ ...base, type: 'reaction', reaction: { message_id: 'wamid.OURREPLY' } });
    const d = normalizeWhatsAppMessage(m, value, route, now);
    expect(d.kind).toBe('reaction');
    if (d.kind === 'reaction') expect(d.reaction.emoji).toBe('');
  });

  it('passes shared contacts on as text', () => {
    const { m, value } = generated({
      ...base,
      type: 'contacts',
      contacts: [{ name: { formatted_name: 'Bob Builder' }, phones: [{ phone: '+1 650 555 9876', wa_id: '16505559876' }] }],
    });
    expect(published(normalizeWhatsAppMessage(m, value, route, now)).text).toBe('[shared contact: Bob Builder (+1 650 555 9876)]');
  });

  it('passes an unsupported message on with Meta’s reason instead of dropping it', () => {
    const { m, value } = generated({ ...base, type: 'unsupported', errors: [{ code: 131051, title: 'Message type unknown' }] });
    expect(published(normalizeWhatsAppMessage(m, value, route, now)).text).toBe(
      '[the user sent a unsupported message that cannot be shown here: Message type unknown]',
    );
  });

  it('ignores system notices and messages without id or sender', () => {
    const sys = generated({ ...base, type: 'system', system: { body: 'User changed number', type: 'user_changed_number' } });
    expect(normalizeWhatsAppMessage(sys.m, sys.value, route, now)).toEqual({ kind: 'ignore', reason: 'system message user_changed_number' });
    const noId = generated({ from: '1', type: 'text', text: { body: 'x' } });
    expect(normalizeWhatsAppMessage(noId.m, noId.value, route, now).kind).toBe('ignore');
  });

  it('never dates a message in the future, and falls back to now without a timestamp', () => {
    const future = generated({ ...base, timestamp: String(Math.floor(now.getTime() / 1000) + 3600), type: 'text', text: { body: 'hi' } });
    expect(published(normalizeWhatsAppMessage(future.m, future.value, route, now)).receivedAt).toBe(now.toISOString());
    const none = generated({ from: base.from, id: base.id, type: 'text', text: { body: 'hi' } });
    expect(published(normalizeWhatsAppMessage(none.m, none.value, route, now)).receivedAt).toBe(now.toISOString());
  });

  it('gives each normalized message its own id', () => {
    const value = valueOf(fixture('text'));
    const a = published(normalizeWhatsAppMessage(value.messages![0]!, value, route, now));
    const b = published(normalizeWhatsAppMessage(value.messages![0]!, value, route, now));
    expect(a.id).not.toBe(b.id);
  });
});

describe('normalizeWhatsAppMessage — wrong-typed fields from a signed but odd body', () => {
  const valueWith = (message: unknown, contacts: unknown = [{ profile: { name: 'Sheena' }, wa_id: '16505551234' }]) => ({ contacts, messages: [message] });

  it('ignores a message whose id or sender is not a string', () => {
    for (const m of [{ ...base, id: { x: 1 } }, { ...base, from: 42 }, { ...base, id: '' }, { ...base, id: 'w'.repeat(513) }, null, 'text']) {
      expect(normalizeWhatsAppMessage(m, valueWith(m), route, now).kind).toBe('ignore');
    }
  });

  it('treats fields of the wrong type as absent and keeps the message valid', () => {
    const m = { ...base, type: 'text', text: { body: 12 }, context: 'not an object' };
    const msg = published(normalizeWhatsAppMessage(m, valueWith(m, 'not a list'), route, now));
    expect(msg.text).toBe('');
    expect(msg.sender).toEqual({ externalId: '16505551234' });
    expect(msg.thread).toEqual({ inThread: false });
    const contacts = { ...base, type: 'contacts', contacts: { name: 'x' } };
    expect(published(normalizeWhatsAppMessage(contacts, valueWith(contacts), route, now)).text).toBe('[shared contact: empty]');
    const media = { ...base, type: 'image', image: { id: ['1'], mime_type: 7, caption: { a: 1 } } };
    expect(published(normalizeWhatsAppMessage(media, valueWith(media), route, now)).attachments).toEqual([{ kind: 'image' }]);
    const place = { ...base, type: 'location', location: { latitude: 1, longitude: 2, url: 'javascript:alert(1)' } };
    expect(published(normalizeWhatsAppMessage(place, valueWith(place), route, now)).attachments[0]).not.toHaveProperty('url');
  });

  it('removes NUL, which Postgres text cannot store, and clips oversized text', () => {
    const m = { ...base, type: 'text', text: { body: `a\u0000b${'x'.repeat(50_000)}` } };
    const msg = published(normalizeWhatsAppMessage(m, valueWith(m), route, now));
    expect(msg.text.startsWith('ab')).toBe(true);
    expect(msg.text.length).toBe(40_000);
  });
});

describe('keys', () => {
  it('scopes the conversation to number and contact, and dedup to number and wamid', () => {
    expect(whatsappConversationRef('1065', '1650')).toBe('whatsapp:1065:1650');
    expect(whatsappDedupKey('1065', 'wamid.X')).toBe('whatsapp:1065:wamid.X');
  });
});
