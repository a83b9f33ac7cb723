import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { metaSignature, verifyMetaSignature } from './signature.ts';

const secret = 'app-secret-0123456789';
const raw = readFileSync(new URL('../../../../test/fixtures/whatsapp/text.json', import.meta.url));

describe('verifyMetaSignature', () => {
  it('accepts Meta’s sha256= HMAC of the raw body, in either hex case', () => {
    const hex = createHmac('sha256', secret).update(raw).digest('hex');
    expect(verifyMetaSignature(raw, `sha256=${hex}`, secret)).toBe(true);
    expect(verifyMetaSignature(raw, `sha256=${hex.toUpperCase()}`, secret)).toBe(true);
    expect(metaSignature(raw, secret)).toBe(`sha256=${hex}`);
  });

  it('refuses a signature made with another secret', () => {
    expect(verifyMetaSignature(raw, metaSignature(raw, 'another-secret-123'), secret)).toBe(false);
  });

  it('refuses a body changed after signing, even only re-serialized', () => {
    const signature = metaSignature(raw, secret);
    const reserialized = Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8')), null, 1));
    expect(verifyMetaSignature(reserialized, signature, secret)).toBe(false);
    const tampered = Buffer.from(raw.toString('utf8').replace('#4411', '#4412'));
    expect(verifyMetaSignature(tampered, signature, secret)).toBe(false);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['without the sha256= prefix', createHmac('sha256', secret).update(raw).digest('hex')],
    ['sha1 instead', `sha1=${createHmac('sha1', secret).update(raw).digest('hex')}`],
    ['truncated', metaSignature(raw, secret).slice(0, 40)],
    ['not hex', `sha256=${'z'.repeat(64)}`],
    ['repeated header', [metaSignature(raw, secret), metaSignature(raw, secret)]],
  ])('refuses a %s signature header', (_name, header) => {
    expect(verifyMetaSignature(raw, header as string | string[] | undefined, secret)).toBe(false);
  });

  it('refuses everything when no app secret is configured', () => {
    expect(verifyMetaSignature(raw, metaSignature(raw, secret), undefined)).toBe(false);
  });
});
