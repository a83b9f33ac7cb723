import { parseContract, KonstructReplyV1, type Logger } from '@konstruct/core';
import { Prisma, tenantScope, type Db } from '@konstruct/db';
import type { BusMessage, HandlerResult } from '@konstruct/bus';
import type { WhatsAppConnection, WhatsAppConnections } from '../channels/whatsapp/connections.ts';
import type { DeliveryFeedback } from '../channels/whatsapp/feedback.ts';
import { classifyGraphError, graphErrorText, sendGraphMessage, type GraphClientOptions, type GraphSendResult } from './whatsapp-graph.ts';
import type { WhatsAppPacer } from './whatsapp-pacing.ts';
import { callbackData, coalesceTexts, MAX_COALESCED, splitWhatsAppText, WHATSAPP_TEXT_LIMIT } from './whatsapp-text.ts';
import { insideCustomerServiceWindow, templatePayload, textPayload } from './whatsapp-window.ts';

/**
 * Header on an outbound delivery asking for the reply to go out as the approved template:
 * set when Meta reported 131047 for a free-form send after the fact (status webhook).
 */
export const WHATSAPP_SEND_MODE_HEADER = 'x-konstruct-whatsapp-send';

export interface WhatsAppSenderDeps {
  db: Db;
  connections: WhatsAppConnections;
  pacer: WhatsAppPacer;
  feedback: DeliveryFeedback;
  graph: GraphClientOptions;
  /**
   * How long a reply claimed `sending` whose outcome was never learned (crash or timeout after
   * the Graph call) waits for a status webhook naming it before it is sent again.
   */
  sendingGraceMs?: number;
  /** Failed tries (rate limits, transient errors) of one reply before it is recorded as failed. */
  maxAttempts?: number;
  /** First wait after a transient error, doubled per try. */
  transientBackoffMs?: number;
  logger: Logger;
  now?: () => number;
}

export interface WhatsAppSender {
  deliver(delivery: BusMessage): Promise<HandlerResult>;
  /** Stops waiting: deliveries still waiting for a slot return 'retry' and come back later. */
  close(): Promise<void>;
}

interface Item {
  reply: KonstructReplyV1;
  mode: 'text' | 'template';
  attempts: number;
  /** Not considered before this time (waiting for a status webhook, or backing off). */
  notBefore: number;
  settle: ((r: HandlerResult) => void)[];
}

interface Lane {
  items: Item[];
  running: Promise<void>;
  /** Ends the lane's current wait early (a new delivery may change what goes out next). */
  wake: (() => void) | null;
}

interface Row {
  id: string;
  deliveryState: string;
  deliveryError: string | null;
  partsSent: number;
  deliveryAttemptedAt: Date | null;
  conversationId: string;
  lastInboundAt: Date | null;
}

type Batch = { kind: 'text'; items: Item[]; part: number; parts: string[] } | { kind: 'template'; items: [Item] };

const DONE = new Set(['sent', 'delivered', 'read']);

/**
 * Delivers runner replies on WhatsApp. Per user (business number + wa_id) one lane runs at a
 * time in this process: it waits for the pair's 6-second slot (shared across instances via
 * Redis), and replies that pile up meanwhile go out together as one message. Exactly once:
 * each reply is claimed `sending` before the Graph call and carries its id in
 * `biz_opaque_callback_data`; a reply found `sending` by a redelivery is resent only after
 * `sendingGraceMs` without a status webhook naming it (see channels/whatsapp/statuses.ts).
 * Outside the 24-hour window a reply goes out as the connection's approved template, or is held
 * and a person alerted.
 */
export function createWhatsAppSender(deps: WhatsAppSenderDeps): WhatsAppSender {
  const log = deps.logger.child({ source: 'whatsapp-sender' });
  const now = deps.now ?? Date.now;
  const grace = deps.sendingGraceMs ?? 60_000;
  const maxAttempts = deps.maxAttempts ?? 8;
  const transientBackoff = deps.transientBackoffMs ?? 1_000;
  const lanes = new Map<string, Lane>();
  const shutdown = new AbortController();

  /** Waits `ms`, or less when the bridge shuts down or a new delivery joins the lane. */
  function sleep(ms: number, lane: Lane): Promise<void> {
    if (shutdown.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        shutdown.signal.removeEventListener('abort', done);
        lane.wake = null;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      shutdown.signal.addEventListener('abort', done, { once: true });
      lane.wake = done;
    });
  }

  async function deliver(delivery: BusMessage): Promise<HandlerResult> {
    const parsed = parseContract(KonstructReplyV1, delivery.body);
    if (!parsed.ok) return { deadLetter: `invalid KonstructReply v1: ${parsed.reason}` };
    const reply = parsed.value;
    if (reply.channel.kind !== 'whatsapp') return { deadLetter: `not a WhatsApp reply (${reply.channel.kind})` };
    if (shutdown.signal.aborted) return 'retry';
    const mode = delivery.headers[WHATSAPP_SEND_MODE_HEADER] === 'template' ? 'template' : 'text';
    const key = `${reply.tenantId}:${reply.channel.connectionId}:${reply.recipient.externalId}`;

    return new Promise<HandlerResult>((resolve) => {
      let lane = lanes.get(key);
      const same = lane?.items.find((i) => i.reply.id === reply.id && i.mode === mode);
      if (same) {
        // A redelivery of a reply this lane already holds: it shares the outcome.
        same.settle.push(resolve);
        return;
      }
      const item: Item = { reply, mode, attempts: 0, notBefore: 0, settle: [resolve] };
      if (lane) {
        lane.items.push(item);
        lane.wake?.();
        return;
      }
      lane = { items: [item], running: Promise.resolve(), wake: null };
      lanes.set(key, lane);
      lane.running = runLane(key, lane);
    });
  }

  function settle(items: Item[], item: Item, result: HandlerResult) {
    const i = items.indexOf(item);
    if (i >= 0) items.splice(i, 1);
    for (const s of item.settle) s(result);
  }

  async function runLane(key: string, lane: Lane): Promise<void> {
    const items = lane.items;
    try {
      for (;;) {
        // Checked and removed in one synchronous step, so a delivery arriving now starts a new lane.
        if (!items.length) {
          lanes.delete(key);
          return;
        }
        if (shutdown.signal.aborted) {
          for (const item of [...items]) settle(items, item, 'retry');
          continue;
        }
        const tenantId = items[0]!.reply.tenantId;
        // Deliveries arriving while this round reads the database wait for the next round.
        const loaded = [...items];
        const rows = await loadRows(tenantId, loaded.map((i) => i.reply.id));
        const t = now();
        for (const item of loaded) {
          const row = rows.get(item.reply.id);
          if (!row) {
            settle(items, item, { deadLetter: `reply message ${item.reply.id} not found for tenant ${tenantId}` });
          } else if (DONE.has(row.deliveryState) || row.deliveryState === 'held') {
            log.info({ messageId: row.id, state: row.deliveryState }, 'reply already settled; delivery ignored');
            settle(items, item, 'ack');
          } else if (row.deliveryState === 'failed' && !(item.mode === 'template' && /^whatsapp 131047/.test(row.deliveryError ?? ''))) {
            settle(items, item, 'ack');
          } else if (row.deliveryState === 'sending' && row.deliveryAttemptedAt) {
            // Sent by someone whose outcome we do not know: give the status webhook time to say so.
            item.notBefore = Math.max(item.notBefore, row.deliveryAttemptedAt.getTime() + grace);
          }
        }
        const pending = loaded.filter((i) => items.includes(i));
        if (!pending.length) continue;

        const ready = pending.filter((i) => i.notBefore <= t);
        if (!ready.length) {
          await sleep(Math.min(...pending.map((i) => i.notBefore)) - t, lane);
          continue;
        }

        const first = ready[0]!;
        const conn = await deps.connections.get(first.reply.tenantId, first.reply.channel.connectionId);
        if (!conn?.accessToken) {
          for (const item of pending) {
            await markFailed(item, rows.get(item.reply.id)!, null, 'whatsapp connection has no access token');
            settle(items, item, 'ack');
          }
          continue;
        }

        const batch = await plan(items, ready, rows, conn, t);
        if (!batch) continue;

        const wait = await deps.pacer.reserve(conn.phoneNumberId, first.reply.recipient.externalId);
        if (wait > 0) {
          await sleep(wait, lane);
          continue;
        }
        await sendBatch(items, batch, rows, conn);
      }
    } catch (e) {
      log.error({ err: e }, 'whatsapp lane failed; its deliveries will be retried');
      for (const item of [...items]) settle(items, item, 'retry');
      lanes.delete(key);
    }
  }

  /**
   * Decides what goes out next for this user: a long reply's next part, a template, or every
   * waiting single-part reply coalesced into one message. Holds (and settles) replies that
   * may not go out at all. Null when nothing is left to send in this round.
   */
  async function plan(items: Item[], ready: Item[], rows: Map<string, Row>, conn: WhatsAppConnection, t: number): Promise<Batch | null> {
    const first = ready[0]!;
    const row = rows.get(first.reply.id)!;
    const outside = first.mode === 'template' || !insideCustomerServiceWindow(row.lastInboundAt, t);
    if (outside) {
      if (!conn.outsideWindowTemplate) {
        const code = first.mode === 'template' ? '131047' : null;
        await hold(first, row, code, noTemplateReason(first.mode === 'template'));
        settle(items, first, 'ack');
        return null;
      }
      return { kind: 'template', items: [first] };
    }
    const parts = splitWhatsAppText(first.reply.text);
    if (parts.length > 1 || row.partsSent > 0) {
      return { kind: 'text', items: [first], part: Math.min(row.partsSent, parts.length - 1), parts };
    }
    const batch = [first];
    let length = first.reply.text.trim().length;
    for (const item of ready.slice(1)) {
      const r = rows.get(item.reply.id)!;
      if (item.mode !== 'text' || r.partsSent > 0 || batch.length >= MAX_COALESCED) continue;
      const extra = item.reply.text.trim().length + 2;
      if (length + extra > WHATSAPP_TEXT_LIMIT) continue;
      batch.push(item);
      length += extra;
    }
    const text = coalesceTexts(batch.map((i) => i.reply.text));
    return { kind: 'text', items: batch, part: 0, parts: [text] };
  }

  async function sendBatch(items: Item[], batch: Batch, rows: Map<string, Row>, conn: WhatsAppConnection) {
    const claimed = await claim(batch.items, rows);
    if (!claimed.length) return;
    // Someone else took part of the batch: send only what we hold, recomputed.
    let body: Record<string, unknown>;
    const ids = claimed.map((i) => i.reply.id);
    const to = claimed[0]!.reply.recipient.externalId;
    let part = 0;
    let parts = 1;
    if (batch.kind === 'template') {
      body = templatePayload(conn.outsideWindowTemplate!, to, claimed[0]!.reply.text, callbackData(ids, 'template'));
    } else {
      const texts = claimed.length === batch.items.length ? batch.parts : [coalesceTexts(claimed.map((i) => i.reply.text))];
      part = batch.part;
      parts = texts.length;
      body = textPayload(to, texts[part]!, callbackData(ids, part));
    }

    const result = await sendGraphMessage(deps.graph, conn.accessToken!, conn.phoneNumberId, body);
    if (result.ok || result.kind === 'unknown') await deps.pacer.sent(conn.phoneNumberId, to);
    await handleResult(items, claimed, batch.kind, part, parts, result, rows, conn);
  }

  async function handleResult(
    items: Item[],
    claimed: Item[],
    kind: 'text' | 'template',
    part: number,
    parts: number,
    result: GraphSendResult,
    rows: Map<string, Row>,
    conn: WhatsAppConnection,
  ) {
    const scope = tenantScope(claimed[0]!.reply.tenantId);
    const ids = claimed.map((i) => i.reply.id);
    if (result.ok) {
      if (part < parts - 1) {
        await deps.db.tenantBatch(scope, [
          Prisma.sql`UPDATE messages SET delivery_state = 'pending', parts_sent = ${part + 1}, provider_message_id = ${result.wamid}, delivery_attempted_at = NULL
                      WHERE id = ANY(${ids}::uuid[]) AND delivery_state = 'sending'`,
        ]);
        for (const item of claimed) item.attempts = 0;
        log.info({ messageId: ids[0], part: part + 1, parts }, 'whatsapp reply part sent');
        return;
      }
      await deps.db.tenantBatch(scope, [
        Prisma.sql`UPDATE messages SET delivery_state = 'sent', provider_message_id = ${result.wamid}, sent_at = ${new Date()}::timestamptz,
                          delivery_error = NULL, parts_sent = ${parts}
                    WHERE id = ANY(${ids}::uuid[]) AND delivery_state = 'sending'`,
        // A status webhook may have reconciled it first; keep the wamid either way.
        Prisma.sql`UPDATE messages SET provider_message_id = ${result.wamid} WHERE id = ANY(${ids}::uuid[]) AND provider_message_id IS NULL`,
      ]);
      if (kind === 'template') {
        const item = claimed[0]!;
        await deps.feedback.audit(item.reply.tenantId, {
          actorKind: 'system',
          action: 'whatsapp.reply_sent_as_template',
          subjectType: 'message',
          subjectId: item.reply.id,
          data: { conversationId: item.reply.conversationId, template: conn.outsideWindowTemplate?.name, wamid: result.wamid },
        });
      }
      log.info({ messageIds: ids, wamid: result.wamid, kind, coalesced: ids.length }, 'whatsapp reply sent');
      for (const item of claimed) settle(items, item, 'ack');
      return;
    }

    if (result.kind === 'unknown') {
      // It may have gone out: stay `sending`; a status webhook carrying our callback data
      // settles it, otherwise it is sent again after the grace period.
      log.warn({ messageIds: ids, reason: result.reason }, 'whatsapp send outcome unknown; waiting for a status webhook');
      for (const item of claimed) {
        item.attempts++;
        item.notBefore = now() + grace;
      }
      await giveUpIfExhausted(items, claimed, rows, `whatsapp: outcome unknown (${result.reason})`);
      return;
    }

    await revert(claimed[0]!.reply.tenantId, ids);
    if (result.kind === 'unreachable') {
      backoff(claimed, transientBackoff);
      await giveUpIfExhausted(items, claimed, rows, `whatsapp: Graph API unreachable (${result.reason})`);
      return;
    }

    const error = result.error;
    const to = claimed[0]!.reply.recipient.externalId;
    switch (classifyGraphError(error.code, result.status)) {
      case 'outside_window': {
        for (const item of claimed) {
          if (kind === 'text' && conn.outsideWindowTemplate) {
            item.mode = 'template';
            continue;
          }
          await hold(item, rows.get(item.reply.id)!, String(error.code), `${graphErrorText(error)}. ${noTemplateReason(true)}`);
          settle(items, item, 'ack');
        }
        return;
      }
      case 'throughput': {
        const ms = await deps.pacer.throughputHit(conn.phoneNumberId);
        log.warn({ phoneNumberId: conn.phoneNumberId, backoffMs: ms, code: error.code }, 'whatsapp throughput limit; backing off');
        for (const item of claimed) item.attempts++;
        await giveUpIfExhausted(items, claimed, rows, graphErrorText(error));
        return;
      }
      case 'pair_rate': {
        const ms = await deps.pacer.pairLimitHit(conn.phoneNumberId, to);
        log.warn({ backoffMs: ms }, 'whatsapp pair rate limit; backing off for this user');
        for (const item of claimed) item.attempts++;
        await giveUpIfExhausted(items, claimed, rows, graphErrorText(error));
        return;
      }
      case 'transient': {
        backoff(claimed, transientBackoff);
        await giveUpIfExhausted(items, claimed, rows, graphErrorText(error));
        return;
      }
      case 'permanent': {
        for (const item of claimed) {
          await markFailed(item, rows.get(item.reply.id)!, String(error.code), graphErrorText(error));
          settle(items, item, 'ack');
        }
        return;
      }
    }
  }

  function backoff(claimed: Item[], base: number) {
    for (const item of claimed) {
      item.attempts++;
      item.notBefore = now() + Math.min(base * 2 ** (item.attempts - 1), 60_000);
    }
  }

  async function giveUpIfExhausted(items: Item[], claimed: Item[], rows: Map<string, Row>, reason: string) {
    for (const item of claimed) {
      if (item.attempts < maxAttempts) continue;
      await markFailed(item, rows.get(item.reply.id)!, null, `${reason} (after ${item.attempts} attempts)`);
      settle(items, item, { deadLetter: `${reason} (after ${item.attempts} attempts)` });
    }
  }

  async function loadRows(tenantId: string, ids: string[]): Promise<Map<string, Row>> {
    const [found] = await deps.db.tenantBatch(tenantScope(tenantId), [
      Prisma.sql`
        SELECT m.id::text AS id, m.delivery_state::text AS "deliveryState", m.delivery_error AS "deliveryError", m.parts_sent AS "partsSent",
               m.delivery_attempted_at AS "deliveryAttemptedAt", m.conversation_id::text AS "conversationId", c.last_inbound_at AS "lastInboundAt"
          FROM messages m JOIN conversations c ON c.id = m.conversation_id
         WHERE m.id = ANY(${ids}::uuid[]) AND m.direction = 'outbound'`,
    ]);
    return new Map((found as unknown as Row[]).map((r) => [r.id, r]));
  }

  /** Claims each reply `sending` unless its state changed since it was read (another instance, a webhook). */
  async function claim(batch: Item[], rows: Map<string, Row>): Promise<Item[]> {
    const tenantId = batch[0]!.reply.tenantId;
    const attemptedAt = new Date(now());
    // Compare-and-set per reply on what was read, all in one round trip.
    const results = await deps.db.tenantBatch(
      tenantScope(tenantId),
      batch.map((item) => {
        const row = rows.get(item.reply.id)!;
        return Prisma.sql`
          UPDATE messages SET delivery_state = 'sending', delivery_attempted_at = ${attemptedAt}::timestamptz
           WHERE id = ${row.id}::uuid AND delivery_state::text = ${row.deliveryState} AND parts_sent = ${row.partsSent}
             AND delivery_attempted_at IS NOT DISTINCT FROM ${row.deliveryAttemptedAt}::timestamptz
          RETURNING id`;
      }),
    );
    return batch.filter((_item, i) => results[i]?.length === 1);
  }

  /** The Graph API refused the send: it is not out, so it goes back to waiting. */
  async function revert(tenantId: string, ids: string[]) {
    await deps.db.tenantBatch(tenantScope(tenantId), [
      Prisma.sql`UPDATE messages SET delivery_state = 'pending', delivery_attempted_at = NULL WHERE id = ANY(${ids}::uuid[]) AND delivery_state = 'sending'`,
    ]);
  }

  async function markFailed(item: Item, row: Row, code: string | null, reason: string) {
    log.warn({ messageId: item.reply.id, code, reason }, 'whatsapp reply failed');
    await settleFinally(item, row, 'failed', code, reason);
  }

  function hold(item: Item, row: Row, code: string | null, reason: string) {
    return settleFinally(item, row, 'held', code, reason);
  }

  /** Records the reply as failed or held (unless it got further meanwhile) and reports it once. */
  async function settleFinally(item: Item, row: Row, state: 'failed' | 'held', code: string | null, reason: string) {
    const r = await deps.db.withTenant(tenantScope(item.reply.tenantId), (tx) =>
      tx.message.updateMany({
        where: { id: item.reply.id, deliveryState: { in: ['pending', 'sending', 'failed'] } },
        data: { deliveryState: state, deliveryError: reason },
      }),
    );
    if (r.count !== 1) return;
    await deps.feedback.report(item.reply.tenantId, state, {
      messageId: item.reply.id,
      conversationId: row.conversationId,
      code,
      reason,
      noteKey: state === 'failed' ? `failed:${code ?? 'send'}` : 'held',
      audit: { action: state === 'failed' ? 'whatsapp.delivery_failed' : 'whatsapp.reply_held' },
    });
  }

  return {
    deliver,
    async close() {
      shutdown.abort();
      await Promise.all([...lanes.values()].map((l) => l.running));
    },
  };
}

/** Why a reply could not go out, for the message row, the note and the operator alert. */
export function noTemplateReason(reportedByMeta: boolean): string {
  return (
    `${reportedByMeta ? 'Meta reports' : 'It is'} more than 24 hours since the customer last wrote, so WhatsApp only allows an approved template, ` +
    'and this number has none configured (settings.whatsapp.outsideWindowTemplate). The reply is held for a person to follow up.'
  );
}
