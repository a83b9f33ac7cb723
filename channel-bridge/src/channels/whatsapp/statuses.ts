import type { KonstructReplyV1, Logger } from '@konstruct/core';
import { Prisma, tenantScope, type Db, type TenantTx } from '@konstruct/db';
import { parseCallbackData, splitWhatsAppText, type CallbackData } from '../../outbound/whatsapp-text.ts';
import { noTemplateReason } from '../../outbound/whatsapp-sender.ts';
import type { WhatsAppConnections } from './connections.ts';
import type { DeliveryFeedback } from './feedback.ts';
import type { WaStatus } from './payload.ts';
import { arr, id, obj, str } from './fields.ts';
import type { WhatsAppRoute } from './routing.ts';

export interface StatusDeps {
  db: Db;
  feedback: DeliveryFeedback;
  connections: WhatsAppConnections;
  /** Queues a reply to go out again as the connection's approved template (after 131047). */
  resendAsTemplate(reply: KonstructReplyV1): Promise<void>;
  logger: Logger;
}

type Progress = 'sent' | 'delivered' | 'read';
type DeliveryState = 'pending' | 'sending' | 'sent' | 'delivered' | 'read' | 'failed' | 'held';

/**
 * States a status may move a reply out of: never backwards (read beats delivered beats sent),
 * never out of a final failure. `sent` only settles a reply still `sending`, and that goes
 * through the callback data (below) because its wamid was never recorded.
 */
const ADVANCES_FROM: Record<Progress, DeliveryState[]> = {
  sent: [],
  delivered: ['sent'],
  read: ['sent', 'delivered'],
};
/** A failure lands on a reply that is out or on its way; not on one the user already has. */
const FAILS_FROM: DeliveryState[] = ['pending', 'sending', 'sent'];

const replySelect = {
  id: true,
  deliveryState: true,
  partsSent: true,
  text: true,
  inReplyToId: true,
  conversationId: true,
  conversation: { select: { connectionId: true, endUserExternalId: true } },
} as const;

/**
 * Applies one entry of `value.statuses` to the outbound reply it is about, found by wamid in
 * the tenant — or, when the wamid was never recorded (the bridge stopped between the Graph call
 * and the database), by the reply ids we sent as `biz_opaque_callback_data`. Statuses are never
 * treated as inbound messages. A failure is recorded on the reply and reported (note, audit,
 * live event); 131047 then sends the reply as the approved template or holds it.
 */
export async function applyWhatsAppStatus(deps: StatusDeps, route: WhatsAppRoute, s: WaStatus | Record<string, unknown>): Promise<string> {
  const log = deps.logger.child({ source: 'whatsapp-status' });
  const wamid = id(s.id);
  const status = str(s.status, 32);
  if (!wamid || !status) return 'ignored: incomplete status';
  if (status !== 'sent' && status !== 'delivered' && status !== 'read' && status !== 'failed') return `ignored: status ${status}`;
  const scope = tenantScope(route.tenantId);
  const callback = parseCallbackData(str(s.biz_opaque_callback_data, 512));

  if (status !== 'failed') {
    // Usually the sender recorded the wamid before the status came: one round trip advances the
    // reply and asks whether any reply is still `sending` for this callback, which only then
    // needs the reconciliation below (it looks at each reply's text).
    const advance = Prisma.sql`UPDATE messages SET delivery_state = ${status}::delivery_state
                  WHERE provider_message_id = ${wamid} AND direction = 'outbound' AND delivery_state::text = ANY(${ADVANCES_FROM[status]}::text[])
                  RETURNING id`;
    const stillSending = callback
      ? Prisma.sql`SELECT id FROM messages
                    WHERE id = ANY(${callback.replyIds}::uuid[]) AND direction = 'outbound' AND delivery_state = 'sending' AND parts_sent = ${callback.part}`
      : null;
    const [advanced, waiting] = await deps.db.tenantBatch(scope, stillSending ? [advance, stillSending] : [advance]);
    let changed = advanced?.length ?? 0;
    if (callback && waiting?.length) {
      changed += await deps.db.withTenant(scope, async (tx) => {
        const reconciled = await reconcile(tx, wamid, callback);
        const after = await tx.message.updateMany({
          where: { providerMessageId: wamid, direction: 'outbound', deliveryState: { in: ADVANCES_FROM[status] } },
          data: { deliveryState: status },
        });
        return reconciled + after.count;
      });
    }
    return changed ? `${status}: updated` : `${status}: unchanged`;
  }

  const error = obj(arr(s.errors)[0]);
  const rawCode = error?.code;
  const code = typeof rawCode === 'number' || typeof rawCode === 'string' ? str(String(rawCode), 32) || null : null;
  const reason = statusErrorText(code, error);
  const failed = await deps.db.withTenant(scope, async (tx) => {
    let targets = await tx.message.findMany({
      where: { providerMessageId: wamid, direction: 'outbound', deliveryState: { in: FAILS_FROM } },
      select: replySelect,
    });
    if (!targets.length && callback) {
      targets = await tx.message.findMany({
        where: { id: { in: callback.replyIds }, direction: 'outbound', deliveryState: { in: FAILS_FROM } },
        select: replySelect,
      });
    }
    const marked: typeof targets = [];
    for (const t of targets) {
      const r = await tx.message.updateMany({
        where: { id: t.id, deliveryState: { in: FAILS_FROM } },
        data: { deliveryState: 'failed', deliveryError: reason, providerMessageId: wamid },
      });
      if (r.count === 1) marked.push(t);
    }
    return marked;
  });
  if (!failed.length) {
    log.debug({ wamid, code }, 'failed status for no reply of ours in flight; nothing to update');
    return 'failed: unchanged';
  }

  for (const reply of failed) {
    await deps.feedback.report(route.tenantId, 'failed', {
      messageId: reply.id,
      conversationId: reply.conversationId,
      code,
      reason,
      noteKey: `failed:${wamid}`,
      audit: { action: 'whatsapp.delivery_failed', data: { wamid, recipient: id(s.recipient_id) ?? null } },
    });
    if (code !== '131047') continue;
    await outsideWindow(deps, route, reply, callback?.template === true, reason);
  }
  return `failed: ${failed.length} updated`;
}

/**
 * 131047 after the fact: the same handling as before sending — the approved template if the
 * number has one (and this was not already the template), otherwise held for a person.
 */
async function outsideWindow(
  deps: StatusDeps,
  route: WhatsAppRoute,
  reply: { id: string; text: string; inReplyToId: string | null; conversationId: string; conversation: { connectionId: string; endUserExternalId: string } },
  wasTemplate: boolean,
  reason: string,
) {
  const conn = await deps.connections.get(route.tenantId, reply.conversation.connectionId);
  if (conn?.outsideWindowTemplate && !wasTemplate && reply.inReplyToId) {
    await deps.resendAsTemplate({
      v: 1,
      id: reply.id,
      tenantId: route.tenantId,
      channel: { kind: 'whatsapp', connectionId: reply.conversation.connectionId, address: route.phoneNumberId },
      conversationId: reply.conversationId,
      inReplyTo: reply.inReplyToId,
      thread: {},
      recipient: { externalId: reply.conversation.endUserExternalId },
      text: reply.text,
    });
    return;
  }
  const why = `${reason}. ${wasTemplate ? 'The approved template was refused too; the reply is held for a person to follow up.' : noTemplateReason(true)}`;
  const held = await deps.db.withTenant(tenantScope(route.tenantId), (tx) =>
    tx.message.updateMany({ where: { id: reply.id, deliveryState: 'failed' }, data: { deliveryState: 'held', deliveryError: why } }),
  );
  if (held.count === 1) {
    await deps.feedback.report(route.tenantId, 'held', {
      messageId: reply.id,
      conversationId: reply.conversationId,
      code: '131047',
      reason: why,
      noteKey: 'held',
      audit: { action: 'whatsapp.reply_held' },
    });
  }
}

/**
 * A status for a reply still `sending` proves the send went out: record its wamid, and for a
 * long reply move on to the next part (the sender, waiting out its grace period, continues).
 */
async function reconcile(tx: TenantTx, wamid: string, callback: CallbackData): Promise<number> {
  const rows = await tx.message.findMany({
    where: { id: { in: callback.replyIds }, direction: 'outbound', deliveryState: 'sending', partsSent: callback.part },
    select: { id: true, text: true },
  });
  let changed = 0;
  for (const row of rows) {
    const parts = callback.template ? 1 : splitWhatsAppText(row.text).length;
    const last = callback.part >= parts - 1;
    const r = await tx.message.updateMany({
      where: { id: row.id, deliveryState: 'sending', partsSent: callback.part },
      data: last
        ? { deliveryState: 'sent', providerMessageId: wamid, sentAt: new Date(), deliveryError: null, partsSent: parts }
        : { deliveryState: 'pending', providerMessageId: wamid, partsSent: callback.part + 1, deliveryAttemptedAt: null },
    });
    changed += r.count;
  }
  return changed;
}

function statusErrorText(code: string | null, error: Record<string, unknown> | undefined): string {
  if (!error) return 'whatsapp: delivery failed (no error given)';
  const title = str(error.title, 512) ?? str(error.message, 512) ?? 'delivery failed';
  const details = str(obj(error.error_data)?.details, 1024);
  return `whatsapp ${code ?? '?'}: ${title}${details && details !== title ? ` (${details})` : ''}`;
}
