import { randomUUID } from 'node:crypto';
import type { KonstructMessageV1, KonstructReplyV1, Logger, TenantEvent } from '@konstruct/core';
import { tenantScope, type Db, type TenantTx } from '@konstruct/db';
import type { HandlerResult } from '@konstruct/bus';
import { buildPrompt, unavailableReply } from './prompt.ts';
import { LlmUnavailable, type ChatModel, type ChatResult } from '../llm/types.ts';
import { costUsdMicros } from '../llm/prices.ts';
import { auditRow, recordAudit, type AuditEntry } from '../audit/recorder.ts';
import type { AgentCache } from './agent-cache.ts';

export interface TurnDeps {
  db: Db;
  agents: AgentCache;
  model: ChatModel;
  defaultModel: string;
  historyMessages: number;
  publishReply(reply: KonstructReplyV1): Promise<void>;
  /** Live events for GraphQL subscribers; must not throw. */
  publishEvent?(event: TenantEvent): void;
  logger: Logger;
}

type Reply = { id: string; text: string; deliveryState: string };

/**
 * One conversation turn: record the inbound message (idempotently), ask the model, record
 * and publish the reply. Safe to run again for the same message: the inbound row is keyed by
 * (tenant, channel, external id) and the reply by the inbound message, so a redelivery
 * re-publishes the existing reply instead of writing a second one.
 */
export async function runTurn(msg: KonstructMessageV1, deps: TurnDeps): Promise<HandlerResult> {
  const scope = tenantScope(msg.tenantId);
  const log = deps.logger.child({ tenantId: msg.tenantId, messageId: msg.id });

  const agent = await deps.agents.forConnection(msg.tenantId, msg.channel.connectionId);
  if (!agent) return { deadLetter: `channel connection ${msg.channel.connectionId} has no agent` };

  const ctx = await deps.db.withTenant(scope, async (tx) => {
    const now = new Date(msg.receivedAt);
    const conversation = await tx.conversation.upsert({
      where: { tenantId_externalRef: { tenantId: msg.tenantId, externalRef: msg.conversation.ref } },
      create: {
        tenantId: msg.tenantId,
        agentId: agent.id,
        connectionId: msg.channel.connectionId,
        channelKind: msg.channel.kind,
        externalRef: msg.conversation.ref,
        endUserExternalId: msg.sender.externalId,
        lastInboundAt: now,
        lastMessageAt: now,
      },
      update: { lastInboundAt: now, lastMessageAt: now },
      select: { id: true, state: true },
    });
    const inbound = await recordInbound(tx, msg, conversation.id);
    // A message seen for the first time cannot have a reply yet.
    const existing = inbound.fresh
      ? null
      : await tx.message.findUnique({
          where: { inReplyToId: inbound.id },
          select: { id: true, text: true, deliveryState: true },
        });
    const history = existing
      ? []
      : await tx.message.findMany({
          where: { conversationId: conversation.id, id: { not: inbound.id }, createdAt: { lte: inbound.createdAt } },
          orderBy: { createdAt: 'desc' },
          take: deps.historyMessages,
          select: { author: true, text: true },
        });
    return { conversation, inbound, existing, history: history.reverse() };
  });

  const { conversation, inbound, existing } = ctx;
  const reply = (r: Reply): KonstructReplyV1 => ({
    v: 1,
    id: r.id,
    tenantId: msg.tenantId,
    channel: msg.channel,
    conversationId: conversation.id,
    inReplyTo: inbound.id,
    thread: { replyTo: msg.thread.replyTo },
    recipient: { externalId: msg.sender.externalId },
    text: r.text,
    ...(msg.trace ? { trace: msg.trace } : {}),
  });

  if (existing) {
    // A redelivery after we already answered: hand the same reply to the channel again; the
    // sender skips it if it was already posted.
    if (existing.deliveryState === 'pending') await deps.publishReply(reply(existing));
    log.info({ replyId: existing.id }, 'message already answered; not calling the model again');
    return 'ack';
  }
  if (conversation.state !== 'active') {
    log.info({ state: conversation.state }, 'conversation is not active; the employee stays silent');
    return 'ack';
  }

  const preferred = (agent.modelPreferences as { models?: string[] } | null)?.models?.[0];
  const modelName = preferred?.replace(/^openai:/, '') ?? deps.defaultModel;
  const prompt = buildPrompt(agent, ctx.history, msg.text);

  let result: ChatResult | null = null;
  let failure: string | null = null;
  try {
    result = await deps.model.complete({ model: modelName, messages: prompt });
  } catch (e) {
    if (!(e instanceof LlmUnavailable)) throw e;
    failure = e.reason;
    log.error({ reason: e.reason, model: modelName }, 'model unavailable; telling the user the employee cannot answer');
  }

  const text = result?.text.trim() || unavailableReply(agent.name);
  const cost = result ? costUsdMicros(result.model, result.usage.inputTokens, result.usage.outputTokens) : null;
  const audit: AuditEntry = {
    actorKind: 'agent',
    actorId: agent.id,
    action: 'llm.call',
    subjectType: 'message',
    subjectId: inbound.id,
    data: result
      ? {
          provider: result.provider,
          model: result.model,
          inputTokens: result.usage.inputTokens,
          outputTokens: result.usage.outputTokens,
          latencyMs: result.latencyMs,
          costUsdMicros: cost === null ? null : Number(cost),
          outcome: 'ok',
        }
      : { provider: 'openai', model: modelName, outcome: 'unavailable', reason: failure },
  };
  const saveReply = (withAudit: boolean) =>
    deps.db.withTenant(scope, async (tx) => {
      const id = randomUUID();
      const created = await tx.message.createMany({
        data: [
          {
            id,
            tenantId: msg.tenantId,
            conversationId: conversation.id,
            direction: 'outbound',
            author: result ? 'agent' : 'system',
            channelKind: msg.channel.kind,
            inReplyToId: inbound.id,
            text,
            deliveryState: 'pending',
          },
        ],
        skipDuplicates: true,
      });
      if (created.count === 0) {
        // A concurrent redelivery answered first; publish its reply instead of a second one.
        return tx.message.findUniqueOrThrow({
          where: { inReplyToId: inbound.id },
          select: { id: true, text: true, deliveryState: true },
        });
      }
      if (result) {
        await tx.usageRecord.create({
          data: {
            tenantId: msg.tenantId,
            agentId: agent.id,
            conversationId: conversation.id,
            provider: result.provider,
            model: result.model,
            inputTokens: result.usage.inputTokens,
            outputTokens: result.usage.outputTokens,
            cacheReadTokens: result.usage.cacheReadTokens,
            costUsdMicros: cost ?? 0n,
            latencyMs: result.latencyMs,
          },
        });
      }
      if (withAudit) await tx.auditEvent.create({ data: auditRow(msg.tenantId, audit) });
      return { id, text, deliveryState: 'pending' };
    });

  // The audit event commits with the reply it describes; if recording it fails, the reply
  // still goes out and the audit is retried on its own (and logged if that fails too).
  let saved: Reply;
  try {
    saved = await saveReply(true);
  } catch (e) {
    log.error({ err: e }, 'saving reply with its audit event failed; retrying without it');
    saved = await saveReply(false);
    await recordAudit(deps.db, scope, audit, log);
  }

  await deps.publishReply(reply(saved));
  const at = new Date().toISOString();
  if (result) {
    deps.publishEvent?.({
      type: 'usage',
      tenantId: msg.tenantId,
      agentId: agent.id,
      conversationId: conversation.id,
      provider: result.provider,
      model: result.model,
      inputTokens: result.usage.inputTokens,
      outputTokens: result.usage.outputTokens,
      costUsdMicros: String(cost ?? 0n),
      at,
    });
  }
  deps.publishEvent?.({
    type: 'conversation',
    tenantId: msg.tenantId,
    conversationId: conversation.id,
    agentId: agent.id,
    state: conversation.state,
    lastMessageId: saved.id,
    at,
  });
  log.info({ replyId: saved.id, latencyMs: result?.latencyMs }, 'reply published');
  return 'ack';
}

async function recordInbound(tx: TenantTx, msg: KonstructMessageV1, conversationId: string) {
  const createdAt = new Date(msg.receivedAt);
  // ON CONFLICT DO NOTHING keeps the transaction usable when the message is a redelivery.
  const inserted = await tx.message.createMany({
    data: [
      {
        id: msg.id,
        tenantId: msg.tenantId,
        conversationId,
        direction: 'inbound',
        author: 'end_user',
        channelKind: msg.channel.kind,
        externalId: msg.externalId,
        senderExternalId: msg.sender.externalId,
        text: msg.text,
        attachments: msg.attachments,
        deliveryState: 'received',
        createdAt,
      },
    ],
    skipDuplicates: true,
  });
  if (inserted.count === 1) return { id: msg.id, createdAt, fresh: true };
  const existing = await tx.message.findUniqueOrThrow({
    where: {
      tenantId_channelKind_externalId: { tenantId: msg.tenantId, channelKind: msg.channel.kind, externalId: msg.externalId },
    },
    select: { id: true, createdAt: true },
  });
  return { ...existing, fresh: false };
}
