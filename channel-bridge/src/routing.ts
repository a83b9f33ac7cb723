import type { Db } from '@konstruct/db';
import type { Route } from './channels/slack/normalize.ts';

interface Cached {
  route: Route | null;
  expires: number;
}

/**
 * Resolves which tenant a webhook belongs to from channel metadata (Slack team + app). Runs
 * as the routing role, which may read channel connections across tenants and nothing else;
 * results are cached briefly because every webhook needs one.
 */
export class ChannelRouter {
  private cache = new Map<string, Cached>();

  constructor(
    private readonly db: Db,
    private readonly ttlMs = 30_000,
    private readonly negativeTtlMs = 5_000,
  ) {}

  async slack(teamId: string, appId: string | undefined): Promise<Route | null> {
    const key = `slack:${teamId}:${appId ?? ''}`;
    const hit = this.cache.get(key);
    if (hit && hit.expires > Date.now()) return hit.route;
    const rows = await this.db.withRouting((tx) =>
      tx.channelConnection.findMany({
        where: { kind: 'slack', externalId: teamId, status: 'active', appId: { in: appId ? [appId, ''] : [''] } },
        select: { id: true, tenantId: true, appId: true, botUserId: true },
      }),
    );
    // A tenant's own Slack app (matched by api_app_id) wins over the platform's shared app.
    const row = rows.find((r) => r.appId !== '') ?? rows[0];
    const route = row ? { tenantId: row.tenantId, connectionId: row.id, botUserId: row.botUserId } : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, { route, expires: Date.now() + (route ? this.ttlMs : this.negativeTtlMs) });
    return route;
  }
}
