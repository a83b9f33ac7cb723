import { randomUUID } from 'node:crypto';
import type { KonstructMessageV1, KonstructReplyV1, Logger, TenantEvent } from '@konstruct/core';
import { tenantScope, type Db, type TenantTx } from '@konstruct/db';
import type { HandlerResult } from '@konstruct/bus';
import { buildPrompt, buildWindowPrompt, unavailableReply } from './prompt.ts';
import type { TurnMemory } from '../memory/turn-memory.ts';
import type { WindowEntry } from '../memory/types.ts';
import { LlmUnavailable, type ChatModel } from '../llm/types.ts';
import { emptyToolset, type ToolRegistry } from '../tools/registry.ts';
import { runToolLoop } from '../tools/loop.ts';
import { toolAuditEntry } from '../tools/audit.ts';
import { modelCallAudits, recordingModel, type ModelCall } from './model-calls.ts';
import { auditRow, recordAudit, type AuditEntry } from '../audit/recorder.ts';
import type { AgentCache } from './agent-cache.ts';
import { directReplyFor, sendDirectReply } from './direct-reply.ts';
import type { ScopeSecondOpinion } from '../scoping/scope-step.ts';

export interface TurnDeps {
  db: Db;
  agents: AgentCache;
  model: ChatModel;
  /**
   * The model asked for on every call. Unset with the router: the agent's model preferences
   * and the platform's default group decide. Set for a single-model client.
   */
  requestModel?: string;
  /** The agent's tools; without it the model gets none. */
  tools?: ToolRegistry;
  /** Most tool steps per message (TOOLS_MAX_STEPS). */
  toolMaxSteps?: number;
  /**
   * The conversation window (Redis, rebuilt from Postgres) and long-term memory. Without it
   * the prompt gets the last `historyMessages` messages from Postgres and nothing is remembered.
   */
  memory?: TurnMemory;
  historyMessages: number;
  publishReply(reply: KonstructReplyV1): Promise<void>;
  /** Live events for GraphQL subscribers; must not throw. */
  publishEvent?(event: TenantEvent): void;
  logger: Logger;
  /** Optional model check behind the deterministic WhatsApp scoping (can only refuse more). */
  scopeSecondOpinion?: ScopeSecondOpinion;
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
    const history = existing || deps.memory
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

  // The rate limit's busy message, or a request outside the business functions on WhatsApp:
  // recorded and answered without the model.
  const direct = await directReplyFor(msg, agent, inbound.id, { secondOpinion: deps.scopeSecondOpinion, log });
  if (direct) {
    const toReply = (r: { id: string; text: string }) => reply({ ...r, deliveryState: 'pending' });
    return sendDirectReply(deps, { msg, agentId: agent.id, conversation, inboundId: inbound.id, toReply, log }, direct);
  }

  const memoryTurn = {
    agentId: agent.id,
    conversationId: conversation.id,
    endUserExternalId: msg.sender.externalId,
    inboundMessageId: inbound.id,
    userText: msg.text,
  };
  const remembered = deps.memory ? await deps.memory.before(scope, memoryTurn) : null;
  const prompt = remembered
    ? buildWindowPrompt(agent, remembered.history, msg.text, { channel: msg.channel.kind, memory: remembered.memoryPrompt })
    : buildPrompt(agent, ctx.history, msg.text, { channel: msg.channel.kind });
  const calls: ModelCall[] = [];
  const toolAudits: AuditEntry[] = [];
  const subject = { type: 'message', id: inbound.id };
  const toolset = deps.tools
    ? await deps.tools.forAgent(scope, agent.id).catch((e: unknown) => {
        log.error({ err: e }, 'tools could not be loaded; answering without them');
        return emptyToolset(scope, agent.id);
      })
    : emptyToolset(scope, agent.id);
  const loop = await runToolLoop({
    model: recordingModel(deps.model, calls),
    request: {
      ...(deps.requestModel && { model: deps.requestModel }),
      tenantId: msg.tenantId,
      preferences: agent.modelPreferences,
    },
    messages: prompt,
    tools: toolset,
    context: { conversationId: conversation.id, endUserExternalId: msg.sender.externalId, messageId: inbound.id },
    maxSteps: deps.toolMaxSteps ?? 5,
    audit: (entry) => void toolAudits.push(toolAuditEntry(agent.id, entry, subject)),
    logger: log,
  });
  if (loop.stopReason === 'model_error' && !(loop.error instanceof LlmUnavailable)) throw loop.error;
  if (loop.stopReason === 'model_error') {
    log.error({ reason: (loop.error as LlmUnavailable).reason }, 'model unavailable; telling the user the employee cannot answer');
  }

  const answered = loop.stopReason !== 'model_error' && loop.final !== null;
  const text = (answered && loop.text.trim()) || unavailableReply(agent.name);
  const results = calls.flatMap((c) => (c.result ? [c.result] : []));
  const audits: AuditEntry[] = [...modelCallAudits(calls, agent.id, subject), ...toolAudits];
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
            author: answered ? 'agent' : 'system',
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
      if (results.length) {
        await tx.usageRecord.createMany({
          data: results.map((r) => ({
            tenantId: msg.tenantId,
            agentId: agent.id,
            conversationId: conversation.id,
            provider: r.provider,
            model: r.model,
            inputTokens: r.usage.inputTokens,
            outputTokens: r.usage.outputTokens,
            cacheReadTokens: r.usage.cacheReadTokens,
            costUsdMicros: r.costUsdMicros ?? 0n,
            latencyMs: r.latencyMs,
          })),
        });
      }
      if (withAudit) for (const a of audits) await tx.auditEvent.create({ data: auditRow(msg.tenantId, a) });
      return { id, text, deliveryState: 'pending' };
    });

  // The audit events commit with the reply they describe; if recording them fails, the reply
  // still goes out and the audit is retried on its own (and logged if that fails too).
  let saved: Reply;
  try {
    saved = await saveReply(true);
  } catch (e) {
    log.error({ err: e }, 'saving reply with its audit events failed; retrying without them');
    saved = await saveReply(false);
    for (const a of audits) await recordAudit(deps.db, scope, a, log);
  }

  await deps.publishReply(reply(saved));
  const at = new Date().toISOString();
  for (const r of results) {
    deps.publishEvent?.({
      type: 'usage',
      tenantId: msg.tenantId,
      agentId: agent.id,
      conversationId: conversation.id,
      provider: r.provider,
      model: r.model,
      inputTokens: r.usage.inputTokens,
      outputTokens: r.usage.outputTokens,
      costUsdMicros: String(r.costUsdMicros ?? 0n),
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
  log.info({ replyId: saved.id, modelCalls: calls.length, toolCalls: loop.toolCalls.length }, 'reply published');

  if (deps.memory) {
    // The whole turn goes into the window — tool calls with their results — ending with what
    // the user was actually sent. Never throws: memory failing costs context, not the reply.
    const said = loop.transcript.at(-1);
    const endsWithReply = said?.role === 'assistant' && !said.toolCalls?.length && said.content.trim() === saved.text;
    const entries: WindowEntry[] = [
      { role: 'user', content: msg.text },
      ...(loop.transcript.filter((m) => m.role !== 'system') as WindowEntry[]),
      ...(endsWithReply ? [] : [{ role: 'assistant' as const, content: saved.text }]),
    ];
    if (endsWithReply) entries[entries.length - 1] = { role: 'assistant', content: saved.text };
    await deps.memory.after(scope, { ...memoryTurn, entries });
  }
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
