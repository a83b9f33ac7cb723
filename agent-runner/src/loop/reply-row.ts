import { randomUUID } from 'node:crypto';
import type { Logger } from '@konstruct/core';
import { jsonText, Prisma, recordAudit, storableAudit, type AuditEntry, type Db, type TenantScope } from '@konstruct/db';
import type { ChatResult } from '../llm/types.ts';

export interface ReplyRow {
  id: string;
  text: string;
  deliveryState: string;
}

export interface NewReply {
  tenantId: string;
  conversationId: string;
  inReplyToId: string;
  channelKind: 'slack' | 'whatsapp';
  author: 'agent' | 'system';
  text: string;
}

/** A model call's usage, written with the reply when no budget ledger settled it. */
export type ReplyUsage = Pick<ChatResult, 'provider' | 'model' | 'usage' | 'latencyMs' | 'costUsdMicros'>;

/**
 * Writes the reply to an inbound message — at most one ever exists (`in_reply_to_id` is
 * unique) — together with what belongs to it: its audit events and, without budgets, the usage
 * of its model calls. One transaction, sent as one message (`db.tenantBatch`).
 *
 * `fresh` is false when a concurrent redelivery answered first: its reply is returned, to be
 * published instead of a second one, and nothing else is written.
 *
 * The audit events commit with the reply they describe; if that fails, the reply is written
 * without them and each event is recorded on its own (and logged with its content if that
 * fails too): an audit problem never keeps a reply from going out.
 */
export async function saveReply(
  db: Db,
  scope: TenantScope,
  reply: NewReply,
  extra: { audits: readonly AuditEntry[]; usage?: readonly ReplyUsage[]; agentId: string },
  log: Logger,
): Promise<ReplyRow & { fresh: boolean }> {
  try {
    return await write(db, scope, reply, extra.audits, extra.usage ?? [], extra.agentId);
  } catch (e) {
    if (extra.audits.length === 0) throw e;
    log.error({ err: e }, 'saving the reply with its audit events failed; retrying without them');
    const saved = await write(db, scope, reply, [], extra.usage ?? [], extra.agentId);
    if (saved.fresh) for (const a of extra.audits) await recordAudit(db, scope, a, log);
    return saved;
  }
}

async function write(
  db: Db,
  scope: TenantScope,
  reply: NewReply,
  audits: readonly AuditEntry[],
  usage: readonly ReplyUsage[],
  agentId: string,
): Promise<ReplyRow & { fresh: boolean }> {
  const id = randomUUID();
  const tenant = Prisma.sql`${scope.tenantId}::uuid`;
  const auditRows = audits.map(storableAudit).map((a) => ({
    actor_kind: a.actorKind,
    actor_id: a.actorId ?? null,
    action: a.action,
    subject_type: a.subjectType ?? null,
    subject_id: a.subjectId ?? null,
    data: a.data ?? {},
  }));
  const usageRows = usage.map((r) => ({
    provider: r.provider,
    model: r.model,
    input_tokens: r.usage.inputTokens,
    output_tokens: r.usage.outputTokens,
    cache_read_tokens: r.usage.cacheReadTokens,
    cost_usd_micros: String(r.costUsdMicros ?? 0n),
    latency_ms: Math.round(r.latencyMs),
  }));
  const [written, rows] = await db.tenantBatch(scope, [
    // The audit events and usage only with a reply that is new; audit events in their order.
    Prisma.sql`
      WITH ins AS (
        INSERT INTO messages (id, tenant_id, conversation_id, in_reply_to_id, direction, author, channel_kind, text, delivery_state)
        VALUES (${id}::uuid, ${tenant}, ${reply.conversationId}::uuid, ${reply.inReplyToId}::uuid, 'outbound',
                ${reply.author}::message_author, ${reply.channelKind}::channel_kind, ${reply.text}, 'pending')
        ON CONFLICT DO NOTHING
        RETURNING id
      ), audited AS (
        INSERT INTO audit_events (id, tenant_id, actor_kind, actor_id, action, subject_type, subject_id, data)
        SELECT gen_random_uuid(), ${tenant}, x.e->>'actor_kind', x.e->>'actor_id', x.e->>'action', x.e->>'subject_type',
               x.e->>'subject_id', coalesce(x.e->'data', '{}')
          FROM jsonb_array_elements(${jsonText(auditRows)}::jsonb) WITH ORDINALITY AS x(e, n)
         WHERE EXISTS (SELECT 1 FROM ins)
         ORDER BY x.n
        RETURNING id
      ), used AS (
        INSERT INTO usage_records (id, tenant_id, agent_id, conversation_id, provider, model, input_tokens, output_tokens,
                                   cache_read_tokens, cost_usd_micros, latency_ms)
        SELECT gen_random_uuid(), ${tenant}, ${agentId}::uuid, ${reply.conversationId}::uuid, u.provider::llm_provider, u.model,
               u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cost_usd_micros, u.latency_ms
          FROM jsonb_to_recordset(${jsonText(usageRows)}::jsonb)
               AS u(provider text, model text, input_tokens int, output_tokens int, cache_read_tokens int, cost_usd_micros bigint, latency_ms int)
         WHERE EXISTS (SELECT 1 FROM ins)
        RETURNING id
      )
      SELECT EXISTS (SELECT 1 FROM ins) AS fresh, (SELECT count(*) FROM audited)::int AS audits, (SELECT count(*) FROM used)::int AS usage`,
    Prisma.sql`
      SELECT id::text AS id, text, delivery_state::text AS "deliveryState"
        FROM messages WHERE tenant_id = ${tenant} AND in_reply_to_id = ${reply.inReplyToId}::uuid`,
  ]);
  const row = rows?.[0];
  if (!row) throw new Error(`reply to ${reply.inReplyToId} was neither written nor found`);
  return { id: row.id as string, text: row.text as string, deliveryState: row.deliveryState as string, fresh: written?.[0]?.fresh === true };
}
