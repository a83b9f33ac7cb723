import { verifySlackRequest } from '@slack/bolt';
import { decryptSecret, secretContext, type Logger, type MasterKeyring } from '@konstruct/core';
import type { Db } from '@konstruct/db';

/** A tenant's own Slack app: its signing secret and the connections that use it. */
export interface ByoSecret {
  secret: string;
  connectionIds: ReadonlySet<string>;
}

/** Who vouched for a request: the platform's app, or a tenant's own app (and so only its connections). */
export type SlackVerification = { source: 'platform' } | { source: 'byo'; appId: string; connectionIds: ReadonlySet<string> };

/** Slack app ids look like A0123ABCD; anything else is not looked up. */
const APP_ID = /^A[A-Z0-9]{2,31}$/;

interface Cached {
  value: Promise<ByoSecret[]>;
  expires: number;
}

/**
 * Signing secrets of tenants' own Slack apps ("bring your own app"), by `api_app_id`. They
 * are envelope-encrypted in channel_connections; decrypted ones are kept for a minute so a
 * busy app costs one read and one decryption per minute, and a revoked or rotated secret
 * stops working within that minute.
 */
export class SlackSigningSecrets {
  private cache = new Map<string, Cached>();

  constructor(
    private readonly db: Db,
    private readonly keyring: MasterKeyring,
    private readonly logger: Logger,
    private readonly ttlMs = 60_000,
    private readonly maxApps = 10_000,
  ) {}

  /** The distinct signing secrets registered for an app id (usually one), or none. */
  forApp(appId: string): Promise<ByoSecret[]> {
    if (!APP_ID.test(appId)) return Promise.resolve([]);
    const hit = this.cache.get(appId);
    if (hit && hit.expires > Date.now()) return hit.value;
    const value = this.load(appId);
    if (this.cache.size >= this.maxApps) this.cache.clear();
    this.cache.set(appId, { value, expires: Date.now() + this.ttlMs });
    // A failed read is not remembered: the next request tries again.
    value.catch(() => this.cache.delete(appId));
    return value;
  }

  forget(appId: string): void {
    this.cache.delete(appId);
  }

  private async load(appId: string): Promise<ByoSecret[]> {
    const rows = await this.db.withRouting((tx) =>
      tx.channelConnection.findMany({
        where: { kind: 'slack', appId, status: 'active', signingSecretEnc: { not: null } },
        select: { id: true, signingSecretEnc: true },
        orderBy: { createdAt: 'asc' },
        take: 50,
      }),
    );
    const bySecret = new Map<string, Set<string>>();
    for (const row of rows) {
      try {
        const secret = decryptSecret(this.keyring, row.signingSecretEnc!, secretContext('channel_connections', 'signing_secret', row.id));
        bySecret.set(secret, (bySecret.get(secret) ?? new Set()).add(row.id));
      } catch (e) {
        this.logger.warn({ connectionId: row.id, reason: (e as Error).message }, 'slack signing secret does not decrypt; connection skipped');
      }
    }
    return [...bySecret].map(([secret, connectionIds]) => ({ secret, connectionIds }));
  }
}

/** True when the request carries Slack's signature under `secret` and a fresh (5-minute) timestamp. */
export function slackSignatureValid(secret: string, raw: string, signature: string, timestamp: number): boolean {
  try {
    verifySlackRequest({ signingSecret: secret, body: raw, headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': timestamp } });
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds which app signed a request. The api_app_id used to pick a tenant's secret comes from
 * the unverified body (or, for Slack's URL check, which carries none, from the Request URL's
 * `app_id` query parameter); it only selects secrets to try and is trusted after a secret
 * verifies. A tenant app's secret vouches only for that tenant's connections of that app,
 * which the caller enforces with `connectionIds`. When no tenant secret verifies, the
 * platform secret is tried, and such a request may only reach the platform app's connections
 * — so registering someone else's app id neither lets a tenant forge events for it nor blocks
 * the platform app's events.
 */
export async function verifySlackSignature(
  secrets: SlackSigningSecrets,
  platformSecret: string,
  req: { raw: string; signature: string; timestamp: number; appId: string | undefined },
): Promise<SlackVerification | null> {
  if (req.appId) {
    for (const candidate of await secrets.forApp(req.appId)) {
      if (slackSignatureValid(candidate.secret, req.raw, req.signature, req.timestamp))
        return { source: 'byo', appId: req.appId, connectionIds: candidate.connectionIds };
    }
  }
  return slackSignatureValid(platformSecret, req.raw, req.signature, req.timestamp) ? { source: 'platform' } : null;
}
