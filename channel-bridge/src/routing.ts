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

  /**
   * The active Slack connection of `teamId` for one app: `appId` is a tenant's own app id, or
   * '' for the platform's shared app. The caller picks the app from whose signing secret
   * verified the request, never from the body alone: a request signed by the platform can
   * only reach platform-app connections, one signed by a tenant's app only that app's.
   */
  async slack(teamId: string, appId: string): Promise<Route | null> {
    const key = `slack:${teamId}:${appId}`;
    const hit = this.cache.get(key);
    if (hit && hit.expires > Date.now()) return hit.route;
    const row = await this.db.withRouting((tx) =>
      tx.channelConnection.findFirst({
        where: { kind: 'slack', externalId: teamId, appId, status: 'active' },
        select: { id: true, tenantId: true, botUserId: true },
      }),
    );
    const route = row ? { tenantId: row.tenantId, connectionId: row.id, botUserId: row.botUserId } : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, { route, expires: Date.now() + (route ? this.ttlMs : this.negativeTtlMs) });
    return route;
  }

  /** Drops cached routes of a workspace, e.g. right after it was installed or re-installed. */
  forgetSlack(teamId: string): void {
    for (const key of this.cache.keys()) if (key.startsWith(`slack:${teamId}:`)) this.cache.delete(key);
  }
}
