import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyringFrom } from '@konstruct/core';
import type { Db } from '@konstruct/db';
import { appDb, databaseUrl } from '../../test/support/db.ts';
import { startFakeWhatsApp, type FakeWhatsApp } from '../../test/fakes/index.ts';
import { seedWhatsAppTenant, type WhatsAppTenant } from '../../test/support/whatsapp.ts';
import { WhatsAppConnections } from '../src/channels/whatsapp/connections.ts';
import { createWhatsAppMediaResolver, type WhatsAppMediaResolver } from '../src/channels/whatsapp/media.ts';

describe('WhatsApp media resolver (fake Graph API)', () => {
  const masterKey = randomBytes(32).toString('base64');
  let db: Db;
  let graph: FakeWhatsApp;
  let tenant: WhatsAppTenant;
  let media: WhatsAppMediaResolver;

  beforeAll(async () => {
    db = appDb();
    tenant = await seedWhatsAppTenant(databaseUrl(), masterKey);
    graph = await startFakeWhatsApp({ tokens: [tenant.accessToken] });
    media = createWhatsAppMediaResolver({
      connections: new WhatsAppConnections(db, keyringFrom(masterKey)),
      graph: { apiUrl: graph.apiUrl },
      maxBytes: 1024,
    });
  });
  afterAll(async () => {
    await graph?.close();
    await db?.close();
  });

  it('resolves metadata and downloads the bytes with the tenant’s token, checking the webhook’s base64 hash', async () => {
    const bytes = randomBytes(300);
    const stored = graph.addMedia(bytes, 'image/jpeg');
    const meta = await media.metadata(tenant.tenantId, tenant.connectionId, stored.id);
    expect(meta).toMatchObject({ id: stored.id, mimeType: 'image/jpeg', sha256: stored.sha256Hex, fileSize: 300 });
    const got = await media.download(tenant.tenantId, tenant.connectionId, stored.id, stored.sha256Base64);
    expect(got.bytes.equals(bytes)).toBe(true);
    expect(got).toMatchObject({ mimeType: 'image/jpeg', sha256: stored.sha256Hex });
    // Both Graph calls carried the tenant's token: the media URL is not public.
    const calls = graph.requests.filter((r) => r.method === 'GET');
    expect(calls.map((c) => c.headers.authorization)).toEqual(Array(3).fill(`Bearer ${tenant.accessToken}`));
    expect(calls[2]!.path).toBe('/whatsapp_business/attachments/');
  });

  it('refuses bytes whose hash does not match', async () => {
    const stored = graph.addMedia(randomBytes(10), 'application/pdf');
    const wrong = Buffer.alloc(32, 7).toString('base64');
    await expect(media.download(tenant.tenantId, tenant.connectionId, stored.id, wrong)).rejects.toThrow(/SHA-256 does not match/);
  });

  it('refuses media over the size limit without downloading it', async () => {
    const stored = graph.addMedia(randomBytes(2048), 'video/mp4');
    const before = graph.requests.length;
    await expect(media.download(tenant.tenantId, tenant.connectionId, stored.id)).rejects.toThrow(/over the 1024-byte limit/);
    expect(graph.requests.slice(before).map((r) => r.path)).toEqual([`/${graph.version}/${stored.id}`]);
  });

  it('reports Graph’s error for an unknown media id', async () => {
    await expect(media.metadata(tenant.tenantId, tenant.connectionId, '4242')).rejects.toThrow(/whatsapp 100: Unsupported get request/);
  });
});
