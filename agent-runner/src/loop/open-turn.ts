import { randomUUID } from 'node:crypto';
import type { KonstructMessageV1, Logger, Result } from '@konstruct/core';
import { jsonText, Prisma, type BatchRow, type Db, type TenantScope } from '@konstruct/db';
import type { EscalationRule } from '../escalation/rules.ts';
import type { PreparedRecall, RecalledMemory } from '../memory/long-term.ts';
import type { HistoryEntry } from './prompt.ts';

/**
 * Everything a turn reads and writes before the model call, in one transaction sent as one
 * message (`db.tenantBatch`): the conversation (created or touched), the inbound message
 * (recorded once, keyed by tenant, channel and vendor id), the reply if this message was
 * answered before, the agent's escalation rules, whether any budget applies, the recent
 * history when there is no conversation window, and the long-term recall when its plan is
 * known. One round trip instead of one transaction each: on the embedded database, which runs
 * one transaction at a time for every process, each of those held the whole database across
 * its round trips.
 */

export interface OpenTurnArgs {
  msg: KonstructMessageV1;
  agentId: string;
  /** Load the agent's enabled escalation rules. */
  rules: boolean;
  /** Messages of recent history to read (0: none; the conversation window is used instead). */
  historyMessages: number;
  /** A recall made ready by the memory (`prepareRecall`); its statement joins the batch. */
  recall: PreparedRecall | null;
}

export interface OpenedTurn {
  conversation: { id: string; state: string };
  /** The conversation was created by this message. */
  newConversation: boolean;
  inbound: { id: string; createdAt: Date; fresh: boolean };
  /** The outbound message already written for this inbound one (a redelivery), if any. */
  existing: { id: string; text: string; deliveryState: string; conversationId: string } | null;
  rules: EscalationRule[];
  /** Some budget (the agent's or the tenant's) exists: calls must be reserved. */
  budgets: boolean;
  /** Oldest first; empty unless `historyMessages` > 0. */
  history: HistoryEntry[];
  /** The recall's outcome when it ran in the batch; undefined when it did not. */
  recalled?: Result<RecalledMemory[], string>;
}

export async function openTurn(db: Db, scope: TenantScope, args: OpenTurnArgs, log: Logger): Promise<OpenedTurn> {
  const recall = args.recall?.kind === 'batch' ? args.recall : null;
  try {
    return await run(db, scope, args, recall);
  } catch (e) {
    if (!recall) throw e;
    // Recall never breaks a reply: without it, the rest is tried again on its own.
    log.warn({ err: e }, 'opening the turn with the memory recall failed; trying without it');
    const opened = await run(db, scope, args, null);
    return { ...opened, recalled: { ok: false, error: (e as Error).message } };
  }
}

async function run(
  db: Db,
  scope: TenantScope,
  args: OpenTurnArgs,
  recall: Extract<PreparedRecall, { kind: 'batch' }> | null,
): Promise<OpenedTurn> {
  const { msg } = args;
  const at = new Date(msg.receivedAt);
  const tenant = Prisma.sql`${scope.tenantId}::uuid`;
  const byExternalId = Prisma.sql`i.tenant_id = ${tenant} AND i.channel_kind = ${msg.channel.kind}::channel_kind AND i.external_id = ${msg.externalId}`;

  const statements: Prisma.Sql[] = [
    // Created, or its last activity moved on; then the inbound message, once.
    Prisma.sql`
      WITH conv AS (
        INSERT INTO conversations AS c (id, tenant_id, agent_id, connection_id, channel_kind, external_ref, end_user_external_id,
                                        last_inbound_at, last_message_at)
        VALUES (${randomUUID()}::uuid, ${tenant}, ${args.agentId}::uuid, ${msg.channel.connectionId}::uuid, ${msg.channel.kind}::channel_kind,
                ${msg.conversation.ref}, ${msg.sender.externalId}, ${at}::timestamptz, ${at}::timestamptz)
        ON CONFLICT (tenant_id, external_ref) DO UPDATE
          SET last_inbound_at = EXCLUDED.last_inbound_at, last_message_at = EXCLUDED.last_message_at
        RETURNING c.id, c.state, (c.xmax = 0) AS created
      ), inb AS (
        INSERT INTO messages (id, tenant_id, conversation_id, direction, author, channel_kind, external_id, sender_external_id,
                              text, attachments, delivery_state, created_at)
        SELECT ${msg.id}::uuid, ${tenant}, conv.id, 'inbound', 'end_user', ${msg.channel.kind}::channel_kind, ${msg.externalId},
               ${msg.sender.externalId}, ${msg.text}, ${jsonText(msg.attachments)}::jsonb, 'received', ${at}::timestamptz
          FROM conv
        ON CONFLICT DO NOTHING
        RETURNING id
      )
      SELECT conv.id::text AS id, conv.state::text AS state, conv.created, EXISTS (SELECT 1 FROM inb) AS fresh FROM conv`,
    // The inbound row (this one, or the first delivery's) and any message written in reply to it.
    Prisma.sql`
      SELECT i.id::text AS id, i.created_at AS "createdAt", r.id::text AS "replyId", r.text AS "replyText",
             r.delivery_state::text AS "replyState", r.conversation_id::text AS "replyConversationId"
        FROM messages i LEFT JOIN messages r ON r.in_reply_to_id = i.id
       WHERE ${byExternalId}`,
    Prisma.sql`
      SELECT EXISTS (SELECT 1 FROM budgets WHERE tenant_id = ${tenant} AND (agent_id IS NULL OR agent_id = ${args.agentId}::uuid)) AS any`,
  ];
  const rulesAt = args.rules ? statements.push(Prisma.sql`
      SELECT id::text AS id, trigger::text AS trigger, pattern, threshold, target, priority
        FROM escalation_rules WHERE agent_id = ${args.agentId}::uuid AND enabled`) - 1 : -1;
  const historyAt = args.historyMessages > 0 ? statements.push(Prisma.sql`
      SELECT h.author::text AS author, h.text
        FROM messages i JOIN messages h ON h.conversation_id = i.conversation_id AND h.id <> i.id AND h.created_at <= i.created_at
       WHERE ${byExternalId}
       ORDER BY h.created_at DESC
       LIMIT ${args.historyMessages}`) - 1 : -1;
  const recallAt = recall ? statements.push(recall.statement) - 1 : -1;

  const results = await db.tenantBatch(scope, statements);
  const conv = one(results[0], 'conversation');
  const inbound = one(results[1], 'inbound message');
  const budgets = one(results[2], 'budgets');
  return {
    conversation: { id: conv.id as string, state: conv.state as string },
    newConversation: conv.created === true,
    inbound: { id: inbound.id as string, createdAt: new Date(inbound.createdAt as string | Date), fresh: conv.fresh === true },
    existing: inbound.replyId
      ? {
          id: inbound.replyId as string,
          text: inbound.replyText as string,
          deliveryState: inbound.replyState as string,
          conversationId: inbound.replyConversationId as string,
        }
      : null,
    budgets: budgets.any === true,
    rules: rulesAt < 0 ? [] : (results[rulesAt] as unknown as EscalationRule[]),
    history: historyAt < 0 ? [] : (results[historyAt] as unknown as HistoryEntry[]).reverse(),
    ...(recall && { recalled: { ok: true as const, value: recall.finish(results[recallAt]!) } }),
  };
}

function one(rows: BatchRow[] | undefined, what: string): BatchRow {
  const row = rows?.[0];
  if (!row) throw new Error(`opening the turn returned no ${what}`);
  return row;
}
