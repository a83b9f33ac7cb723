import type { Db, Prisma, TenantScope } from '@konstruct/db';

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
const select = { deliveryState: true, partsSent: true, deliveryAttemptedAt: true, providerMessageId: true, createdAt: true } as const;

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

  async claim(scope: TenantScope, id: string): Promise<Claim> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const row = await this.db.withTenant(scope, (tx) => tx.message.findUnique({ where: { id }, select }));
      if (!row) return { ok: false, reason: 'missing' };
      if (FINAL.has(row.deliveryState)) return { ok: false, reason: 'done', state: row.deliveryState };
      const now = new Date();
      if (row.deliveryState === 'sending' && row.deliveryAttemptedAt) {
        const age = now.getTime() - row.deliveryAttemptedAt.getTime();
        if (age < this.leaseMs) return { ok: false, reason: 'busy', retryInMs: this.leaseMs - age };
      }
      // Compare-and-set on what we just read, so two deliveries of the same reply never both win.
      const won = await this.db.withTenant(scope, (tx) =>
        tx.message.updateMany({
          where: { id, deliveryState: row.deliveryState as never, deliveryAttemptedAt: row.deliveryAttemptedAt, partsSent: row.partsSent },
          data: { deliveryState: 'sending', deliveryAttemptedAt: now },
        }),
      );
      if (won.count === 1) return { ok: true, row, resumed: row.deliveryState === 'sending', held: { scope, id, stamp: now } };
    }
    return { ok: false, reason: 'busy', retryInMs: 250 };
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
  private async update(claim: Held, data: Prisma.MessageUpdateManyMutationInput): Promise<boolean> {
    const res = await this.db.withTenant(claim.scope, (tx) =>
      tx.message.updateMany({ where: { id: claim.id, deliveryState: 'sending', deliveryAttemptedAt: claim.stamp }, data }),
    );
    return res.count === 1;
  }
}

/** A claim being held: the stamp written at claim time (and on every renewal) proves ownership. */
export interface Held {
  scope: TenantScope;
  id: string;
  stamp: Date;
}
