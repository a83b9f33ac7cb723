import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeWhatsApp, type FakeWhatsApp } from './index.ts';

describe('fake WhatsApp Cloud API (Graph) wire format', () => {
  let fake: FakeWhatsApp;
  const token = 'EAAGfaketoken';
  beforeEach(async () => {
    fake = await startFakeWhatsApp({ tokens: [token], pairIntervalMs: 200 });
  });
  afterEach(() => fake.close());

  const send = (body: unknown, bearer = token, phoneNumberId = '106540352242922') =>
    fetch(`${fake.apiUrl}/${phoneNumberId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const text = (to: string, body = 'hello') => ({ messaging_product: 'whatsapp', to, type: 'text', text: { body } });

  it('accepts a text message like Meta: messaging_product, contacts and a wamid', async () => {
    const res = await send(text('16505551234'));
    expect(res.status).toBe(200);
    const json = (await res.json()) as { messaging_product: string; contacts: unknown[]; messages: { id: string }[] };
    expect(json).toEqual({
      messaging_product: 'whatsapp',
      contacts: [{ input: '16505551234', wa_id: '16505551234' }],
      messages: [{ id: expect.stringMatching(/^wamid\.HBgL/) }],
    });
    expect(fake.sends()).toEqual([expect.objectContaining({ phoneNumberId: '106540352242922', to: '16505551234', text: 'hello', wamid: json.messages[0]!.id, token })]);
  });

  it('answers with Graph error objects: bad token 190/401, missing fields 100, queued failures with Meta’s codes', async () => {
    const bad = await send(text('1'), 'wrong');
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as { error: { code: number; type: string } }).error).toMatchObject({ code: 190, type: 'OAuthException' });

    const missing = await send({ messaging_product: 'whatsapp', type: 'text', text: { body: 'x' } });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: { code: number } }).error.code).toBe(100);

    for (const code of [131047, 130429, 131056]) {
      fake.failNext({ code });
      const res = await send(text(`1650555${code}`));
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: Record<string, unknown> };
      expect(error).toMatchObject({ code, type: 'OAuthException', message: expect.stringContaining(`(#${code})`) });
      expect(error.error_data).toMatchObject({ messaging_product: 'whatsapp', details: expect.any(String) });
      expect(error.fbtrace_id).toEqual(expect.any(String));
    }
    expect(fake.sends()).toHaveLength(0);
  });

  it('enforces the pair rate limit when configured (131056)', async () => {
    expect((await send(text('16505550001'))).status).toBe(200);
    const second = await send(text('16505550001'));
    expect(((await second.json()) as { error: { code: number } }).error.code).toBe(131056);
    expect((await send(text('16505550002'))).status).toBe(200);
  });

  it('can accept a message and drop the connection without answering', async () => {
    fake.failNext({ dropAfterAccept: true });
    await expect(send(text('16505550003'))).rejects.toThrow();
    expect(fake.sends()).toHaveLength(1);
  });

  it('serves media metadata and the download, both behind the token', async () => {
    const bytes = Buffer.from('fake jpeg bytes');
    const m = fake.addMedia(bytes, 'image/jpeg');
    expect(m.sha256Base64).toBe(createHash('sha256').update(bytes).digest('base64'));
    const meta = (await (await fetch(`${fake.apiUrl}/${m.id}`, { headers: { authorization: `Bearer ${token}` } })).json()) as Record<string, unknown>;
    expect(meta).toMatchObject({ messaging_product: 'whatsapp', mime_type: 'image/jpeg', sha256: m.sha256Hex, file_size: bytes.length, id: m.id });
    expect((await fetch(String(meta.url))).status).toBe(401);
    const download = await fetch(String(meta.url), { headers: { authorization: `Bearer ${token}` } });
    expect(Buffer.from(await download.arrayBuffer()).equals(bytes)).toBe(true);
    const unknown = await fetch(`${fake.apiUrl}/123`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await unknown.json()) as { error: { code: number } }).error.code).toBe(100);
  });
});
