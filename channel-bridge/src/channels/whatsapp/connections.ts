import { decryptSecret, secretContext, type MasterKeyring } from '@konstruct/core';
import { tenantScope, type Db } from '@konstruct/db';

/**
 * The approved template a reply is sent as when the 24-hour customer-service window is closed.
 * Configured per WhatsApp connection (the number the agent answers on) in
 * `channel_connections.settings.whatsapp.outsideWindowTemplate`, editable through the tenancy
 * API's `settings` JSON.
 */
export interface OutsideWindowTemplate {
  name: string;
  /** Template language code as approved, e.g. `en_US`. */
  language: string;
  /**
   * Fill the template's body parameter {{1}} with the reply text (default true). Turn off for
   * a template without parameters (e.g. "We have an answer for you — reply to see it").
   */
  replyTextParameter: boolean;
}

export interface WhatsAppConnection {
  id: string;
  tenantId: string;
  phoneNumberId: string;
  /** Decrypted Graph API access token, or null when none is stored. */
  accessToken: string | null;
  outsideWindowTemplate: OutsideWindowTemplate | null;
}

/** Reads `settings.whatsapp.outsideWindowTemplate`; anything malformed counts as not configured. */
export function outsideWindowTemplateFrom(settings: unknown): OutsideWindowTemplate | null {
  const t = (settings as { whatsapp?: { outsideWindowTemplate?: Record<string, unknown> } } | null)?.whatsapp?.outsideWindowTemplate;
  if (!t || typeof t !== 'object') return null;
  const name = typeof t.name === 'string' ? t.name.trim() : '';
  const language = typeof t.language === 'string' ? t.language.trim() : '';
  if (!name || !language) return null;
  return { name, language, replyTextParameter: t.replyTextParameter !== false };
}

/**
 * A tenant's WhatsApp connection with its access token decrypted, cached briefly: every reply,
 * status and media download needs it; a rotated token takes effect within `ttlMs`.
 */
export class WhatsAppConnections {
  private cache = new Map<string, { value: WhatsAppConnection | null; expires: number }>();

  constructor(
    private readonly db: Db,
    private readonly keyring: MasterKeyring,
    private readonly ttlMs = 30_000,
  ) {}

  async get(tenantId: string, connectionId: string): Promise<WhatsAppConnection | null> {
    const key = `${tenantId}:${connectionId}`;
    const hit = this.cache.get(key);
    if (hit && hit.expires > Date.now()) return hit.value;
    const row = await this.db.withTenant(tenantScope(tenantId), (tx) =>
      tx.channelConnection.findFirst({
        where: { id: connectionId, kind: 'whatsapp' },
        select: { id: true, tenantId: true, externalId: true, accessTokenEnc: true, settings: true },
      }),
    );
    const value: WhatsAppConnection | null = row
      ? {
          id: row.id,
          tenantId: row.tenantId,
          phoneNumberId: row.externalId,
          accessToken: row.accessTokenEnc
            ? decryptSecret(this.keyring, row.accessTokenEnc, secretContext('channel_connections', 'access_token', row.id))
            : null,
          outsideWindowTemplate: outsideWindowTemplateFrom(row.settings),
        }
      : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, { value, expires: Date.now() + this.ttlMs });
    return value;
  }
}
