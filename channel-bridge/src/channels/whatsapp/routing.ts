import type { Db } from '@konstruct/db';

/** The tenant and connection a WhatsApp Business phone number belongs to. */
export interface WhatsAppRoute {
  tenantId: string;
  connectionId: string;
  phoneNumberId: string;
}

interface Cached {
  route: WhatsAppRoute | null;
  expires: number;
}

/**
 * Resolves the tenant of a webhook change from `metadata.phone_number_id`, as the routing role
 * (which may read channel connections across tenants and nothing else). Cached briefly: every
 * webhook needs it and numbers move between tenants rarely.
 */
export class WhatsAppRouter {
  private cache = new Map<string, Cached>();

  constructor(
    private readonly db: Db,
    private readonly ttlMs = 30_000,
    private readonly negativeTtlMs = 5_000,
  ) {}

  async byPhoneNumberId(phoneNumberId: string, businessAccountId?: string): Promise<WhatsAppRoute | null> {
    const key = `${phoneNumberId}:${businessAccountId ?? ''}`;
    const hit = this.cache.get(key);
    if (hit && hit.expires > Date.now()) return hit.route;
    const rows = await this.db.withRouting((tx) =>
      tx.channelConnection.findMany({
        where: { kind: 'whatsapp', externalId: phoneNumberId, status: 'active' },
        select: { id: true, tenantId: true, appId: true },
        orderBy: { createdAt: 'asc' },
      }),
    );
    // appId holds the WhatsApp Business Account id when known; an exact match wins.
    const row = rows.find((r) => businessAccountId && r.appId === businessAccountId) ?? rows[0];
    const route = row ? { tenantId: row.tenantId, connectionId: row.id, phoneNumberId } : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, { route, expires: Date.now() + (route ? this.ttlMs : this.negativeTtlMs) });
    return route;
  }
}
