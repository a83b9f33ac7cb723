import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { callbackData, coalesceTexts, MAX_COALESCED, parseCallbackData, splitWhatsAppText, WHATSAPP_TEXT_LIMIT } from './whatsapp-text.ts';

describe('splitWhatsAppText', () => {
  it('keeps a reply within the limit as one message', () => {
    expect(splitWhatsAppText('Your order shipped today.')).toEqual(['Your order shipped today.']);
    const exact = 'a'.repeat(WHATSAPP_TEXT_LIMIT);
    expect(splitWhatsAppText(exact)).toEqual([exact]);
  });

  it('splits a long reply at paragraph boundaries, every part within the limit, nothing lost', () => {
    const paragraph = `${'word '.repeat(300).trim()}.`;
    const text = Array.from({ length: 6 }, () => paragraph).join('\n\n');
    const parts = splitWhatsAppText(text);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(WHATSAPP_TEXT_LIMIT);
    expect(parts.join('\n\n')).toBe(text);
  });

  it('cuts a text without any whitespace hard at the limit', () => {
    const parts = splitWhatsAppText('x'.repeat(WHATSAPP_TEXT_LIMIT * 2 + 10));
    expect(parts.map((p) => p.length)).toEqual([WHATSAPP_TEXT_LIMIT, WHATSAPP_TEXT_LIMIT, 10]);
  });
});

describe('coalesceTexts', () => {
  it('joins waiting replies as paragraphs', () => {
    expect(coalesceTexts(['First. ', ' Second.'])).toBe('First.\n\nSecond.');
  });
});

describe('callback data', () => {
  it('round-trips reply ids and the part, and fits Meta’s 512 characters for the most we coalesce', () => {
    const ids = Array.from({ length: MAX_COALESCED }, () => randomUUID());
    const data = callbackData(ids, 3);
    expect(data.length).toBeLessThanOrEqual(512);
    expect(parseCallbackData(data)).toEqual({ replyIds: ids, part: 3, template: false });
    expect(parseCallbackData(callbackData(ids.slice(0, 1), 'template'))).toEqual({ replyIds: ids.slice(0, 1), part: 0, template: true });
  });

  it('ignores callback data that is not ours', () => {
    expect(parseCallbackData(undefined)).toBeNull();
    expect(parseCallbackData('campaign-42')).toBeNull();
    expect(parseCallbackData('kr1:not-a-uuid#0')).toBeNull();
    expect(parseCallbackData(`kr1:${randomUUID()}#-1`)).toBeNull();
  });
});
