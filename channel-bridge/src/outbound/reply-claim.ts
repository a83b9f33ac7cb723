import { Prisma, type Db, type TenantScope } from '@konstruct/db';

export interface ReplyRow {
  deliveryState: string;
  partsSent: number;
  deliveryAttemptedAt: Date | null;
  providerMessageId: string | null;
  createdAt: Date;
}

export type Claim =
  /** Ours to send. `resumed`: an earlier attempt claimed it too, so Slack may hold parts it never recorded. */
  | { ok: true; row: ReplyRow; resumed: boolean; held: Held }
  | { ok: false; reason: 'missing' }
  | { ok: false; reason: 'done'; state: string }
  /** Another attempt holds it (or held it until very recently): look again after `retryInMs`. */
  | { ok: false; reason: 'busy'; retryInMs: number };

const FINAL = new Set(['sent', 'delivered', 'read', 'failed', 'held']);

/**
 * The reply row as the one record of how far a delivery got. A sender claims it (`sending`,
 * stamped with the time) before any vendor call, records each part as it lands, and releases
 * the stamp whenever it stops without finishing. A stamp younger than the lease means another
 * attempt may be mid-call, so nobody else touches the reply; an older one means that attempt
 * died, and the next one reconciles with the vendor before posting anything.
 */
export class ReplyClaims {
  constructor(
    private readonly db: Db,
    private readonly leaseMs: number,
  ) {}

  /**
   * One statement, one round trip: the row is locked, judged and (if free) stamped together, so
   * two deliveries of the same reply never both win, and nothing is held between round trips.
   */
  async claim(scope: TenantScope, id: string): Promise<Claim> {
    const now = new Date();
    const [rows] = await this.db.tenantBatch(scope, [
      Prisma.sql`
        WITH cur AS (
          SELECT delivery_state::text AS "deliveryState", parts_sent AS "partsSent", delivery_attempted_at AS "deliveryAttemptedAt",
                 provider_message_id AS "providerMessageId", created_at AS "createdAt"
            FROM messages WHERE id = ${id}::uuid
             FOR UPDATE
        ), won AS (
          UPDATE messages m SET delivery_state = 'sending', delivery_attempted_at = ${now}::timestamptz
            FROM cur
           WHERE m.id = ${id}::uuid
             AND cur."deliveryState" <> ALL (${[...FINAL]}::text[])
             AND NOT (cur."deliveryState" = 'sending' AND cur."deliveryAttemptedAt" IS NOT NULL
                      AND cur."deliveryAttemptedAt" > ${now}::timestamptz - ${this.leaseMs} * interval '1 millisecond')
          RETURNING m.id
        )
        SELECT cur.*, EXISTS (SELECT 1 FROM won) AS won FROM cur`,
    ]);
    const found = rows?.[0];
    if (!found) return { ok: false, reason: 'missing' };
    const row: ReplyRow = {
      deliveryState: found.deliveryState as string,
      partsSent: Number(found.partsSent),
      deliveryAttemptedAt: (found.deliveryAttemptedAt as Date | null) ?? null,
      providerMessageId: (found.providerMessageId as string | null) ?? null,
      createdAt: found.createdAt as Date,
    };
    if (found.won === true) return { ok: true, row, resumed: row.deliveryState === 'sending', held: { scope, id, stamp: now } };
    if (FINAL.has(row.deliveryState)) return { ok: false, reason: 'done', state: row.deliveryState };
    const age = now.getTime() - (row.deliveryAttemptedAt?.getTime() ?? now.getTime());
    return { ok: false, reason: 'busy', retryInMs: Math.max(250, this.leaseMs - age) };
  }

  /** Parts [0, partsSent) are in Slack; renews the claim. False: the claim was lost (lease ran out and another attempt took over). */
  async progress(claim: Held, partsSent: number, firstTs: string | null): Promise<boolean> {
    const stamp = new Date();
    const ok = await this.update(claim, { partsSent, deliveryAttemptedAt: stamp, ...(firstTs ? { providerMessageId: firstTs } : {}) });
    if (ok) claim.stamp = stamp;
    return ok;
  }

  async complete(claim: Held, partsSent: number, firstTs: string | null): Promise<boolean> {
    return this.update(claim, {
      deliveryState: 'sent',
      partsSent,
      sentAt: new Date(),
      deliveryError: null,
      ...(firstTs ? { providerMessageId: firstTs } : {}),
    });
  }

  /** Stops holding the reply without finishing it (the note says why, for operators); the next attempt reconciles first. */
  async release(claim: Held, note?: string): Promise<boolean> {
    return this.update(claim, { deliveryAttemptedAt: null, ...(note ? { deliveryError: note } : {}) });
  }

  async fail(claim: Held, reason: string): Promise<boolean> {
    return this.update(claim, { deliveryState: 'failed', deliveryError: reason });
  }

  /** Only while the claim is still ours: a holder that overran its lease must not undo its successor's state. */
  private async update(claim: Held, data: ClaimUpdate): Promise<boolean> {
    const sets: Prisma.Sql[] = [];
    if (data.deliveryState !== undefined) sets.push(Prisma.sql`delivery_state = ${data.deliveryState}::delivery_state`);
    if (data.partsSent !== undefined) sets.push(Prisma.sql`parts_sent = ${data.partsSent}`);
    if (data.deliveryAttemptedAt !== undefined) sets.push(Prisma.sql`delivery_attempted_at = ${data.deliveryAttemptedAt}::timestamptz`);
    if (data.providerMessageId !== undefined) sets.push(Prisma.sql`provider_message_id = ${data.providerMessageId}`);
    if (data.sentAt !== undefined) sets.push(Prisma.sql`sent_at = ${data.sentAt}::timestamptz`);
    if (data.deliveryError !== undefined) sets.push(Prisma.sql`delivery_error = ${data.deliveryError}`);
    const [rows] = await this.db.tenantBatch(claim.scope, [
      Prisma.sql`
        UPDATE messages SET ${Prisma.join(sets, ', ')}
         WHERE id = ${claim.id}::uuid AND delivery_state = 'sending' AND delivery_attempted_at = ${claim.stamp}::timestamptz
        RETURNING id`,
    ]);
    return rows?.length === 1;
  }
}

type ClaimUpdate = {
  deliveryState?: 'sent' | 'failed';
  partsSent?: number;
  deliveryAttemptedAt?: Date | null;
  providerMessageId?: string;
  sentAt?: Date;
  deliveryError?: string | null;
};

/** A claim being held: the stamp written at claim time (and on every renewal) proves ownership. */
export interface Held {
  scope: TenantScope;
  id: string;
  stamp: Date;
}
