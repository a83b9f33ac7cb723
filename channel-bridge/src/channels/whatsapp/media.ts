import { createHash } from 'node:crypto';
import { getGraphMedia, type GraphClientOptions, type GraphMedia } from '../../outbound/whatsapp-graph.ts';
import type { WhatsAppConnections } from './connections.ts';

export interface MediaResolverDeps {
  connections: WhatsAppConnections;
  graph: GraphClientOptions;
  /** Largest download accepted (WhatsApp documents go up to 100 MB). Default 25 MB. */
  maxBytes?: number;
}

export interface DownloadedMedia {
  bytes: Buffer;
  mimeType: string;
  /** Hex SHA-256 of the bytes, checked against the hash Meta sent. */
  sha256: string;
}

/**
 * Fetches a WhatsApp attachment from the Graph API with the tenant's own token.
 *
 * Where it is needed: not on the webhook path. An inbound attachment is published with its
 * media id, MIME type, SHA-256, caption and file name — all the webhook carries — and Meta's
 * download URLs expire within minutes, so resolving them at receipt would only slow the ack and
 * store dead links. A consumer that wants the content (a vision model, a document tool, an
 * operator opening it in the portal) calls `download` at that moment with the attachment's
 * `externalId`; `metadata` answers size and type without downloading. Media ids stay valid on
 * Meta's side for 30 days.
 */
export function createWhatsAppMediaResolver(deps: MediaResolverDeps) {
  const maxBytes = deps.maxBytes ?? 25 * 1024 * 1024;

  async function tokenFor(tenantId: string, connectionId: string): Promise<string> {
    const conn = await deps.connections.get(tenantId, connectionId);
    if (!conn?.accessToken) throw new Error(`whatsapp connection ${connectionId} has no access token`);
    return conn.accessToken;
  }

  return {
    /** `GET /{media-id}`: URL (short-lived), MIME type, hash and size. */
    async metadata(tenantId: string, connectionId: string, mediaId: string): Promise<GraphMedia> {
      return getGraphMedia(deps.graph, await tokenFor(tenantId, connectionId), mediaId);
    },

    /**
     * Downloads the bytes and checks them against `expectedSha256` (the webhook's base64 hash)
     * or, without one, the hash Graph reports.
     */
    async download(tenantId: string, connectionId: string, mediaId: string, expectedSha256?: string): Promise<DownloadedMedia> {
      const token = await tokenFor(tenantId, connectionId);
      const meta = await getGraphMedia(deps.graph, token, mediaId);
      if (meta.fileSize !== null && meta.fileSize > maxBytes) throw new Error(`media ${mediaId} is ${meta.fileSize} bytes, over the ${maxBytes}-byte limit`);
      // The media URL needs the same bearer token; it is not a public link.
      const res = await fetch(meta.url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(60_000) });
      if (!res.ok) throw new Error(`media ${mediaId} download: HTTP ${res.status}`);
      const declared = Number(res.headers.get('content-length'));
      if (Number.isFinite(declared) && declared > maxBytes) throw new Error(`media ${mediaId} is over the ${maxBytes}-byte limit`);
      const bytes = Buffer.from(await res.arrayBuffer());
      if (bytes.length > maxBytes) throw new Error(`media ${mediaId} is over the ${maxBytes}-byte limit`);
      const digest = createHash('sha256').update(bytes).digest();
      const expected = expectedSha256 ?? meta.sha256;
      if (expected && !hashMatches(digest, expected)) throw new Error(`media ${mediaId}: SHA-256 does not match; download refused`);
      return { bytes, mimeType: meta.mimeType, sha256: digest.toString('hex') };
    },
  };
}

export type WhatsAppMediaResolver = ReturnType<typeof createWhatsAppMediaResolver>;

/** Meta writes the hash as base64 in webhooks and as hex in media metadata; accept both. */
function hashMatches(digest: Buffer, expected: string): boolean {
  const e = expected.trim();
  if (/^[0-9a-f]{64}$/i.test(e)) return digest.toString('hex') === e.toLowerCase();
  return digest.toString('base64') === e || digest.toString('base64url') === e.replace(/=+$/, '');
}
