import type { KonstructMessageV1, KonstructReplyV1, Logger, TenantEvent } from '@konstruct/core';
import { tenantScope, type Db } from '@konstruct/db';
import type { HandlerResult } from '@konstruct/bus';
import type { AuditEntry } from '../audit/recorder.ts';
import { scopeStep, type ScopeSecondOpinion } from '../scoping/scope-step.ts';
import type { CachedAgent } from './agent-cache.ts';
import { saveReply } from './reply-row.ts';

/** A reply decided without the model, with the audit event that explains it. */
export interface DirectReply {
  text: string;
  author: 'agent' | 'system';
  audit: AuditEntry;
}

/**
 * The replies a turn gives without calling the model, checked in this order: the busy message
 * the bridge asked for (over a rate limit), then the refusal of a request outside the agent's
 * business functions on a scoped channel (WhatsApp). Null: the model answers.
 */
export async function directReplyFor(
  msg: KonstructMessageV1,
  agent: Pick<CachedAgent, 'id' | 'name' | 'businessFunctions'>,
  inboundId: string,
  opts: { secondOpinion?: ScopeSecondOpinion; log: Logger },
): Promise<DirectReply | null> {
  const busy = msg.control?.busyReply;
  if (busy) {
    return {
      text: busy,
      author: 'system',
      audit: {
        actorKind: 'system',
        action: 'ratelimit.busy',
        subjectType: 'message',
        subjectId: inboundId,
        data: { messageId: inboundId, connectionId: msg.channel.connectionId, channel: msg.channel.kind },
      },
    };
  }
  if (msg.channel.kind === 'whatsapp' && agent.businessFunctions.length === 0) {
    // The API refuses this combination; a row from before the rule (or edited by hand) gets here.
    opts.log.warn({ agentId: agent.id }, 'agent answers on WhatsApp without business functions; scoping to general rules only');
  }
  const scope = await scopeStep(
    { channel: msg.channel.kind, text: msg.text, agentName: agent.name, businessFunctions: agent.businessFunctions },
    { secondOpinion: opts.secondOpinion, onSecondOpinionError: (e) => opts.log.warn({ err: e }, 'scope second opinion failed; keeping the deterministic decision') },
  );
  if (scope.kind === 'out_of_scope') {
    return {
      text: scope.reply,
      author: 'agent',
      audit: {
        actorKind: 'agent',
        actorId: agent.id,
        action: 'scope.refused',
        subjectType: 'message',
        subjectId: inboundId,
        data: { messageId: inboundId, category: scope.category, rule: scope.rule, channel: msg.channel.kind },
      },
    };
  }
  return null;
}

export interface DirectReplyDeps {
  db: Db;
  publishReply(reply: KonstructReplyV1): Promise<void>;
  publishEvent?(event: TenantEvent): void;
}

/**
 * Records the reply (one per inbound message, like a model reply) with its audit event in the
 * same transaction, then publishes it. Safe to repeat: a concurrent redelivery's reply wins.
 */
export async function sendDirectReply(
  deps: DirectReplyDeps,
  turn: {
    msg: KonstructMessageV1;
    agentId: string;
    conversation: { id: string; state: string };
    inboundId: string;
    toReply: (r: { id: string; text: string }) => KonstructReplyV1;
    log: Logger;
  },
  direct: DirectReply,
): Promise<HandlerResult> {
  const { msg, conversation, inboundId, log } = turn;
  const scope = tenantScope(msg.tenantId);
  const saved = await saveReply(
    deps.db,
    scope,
    {
      tenantId: msg.tenantId,
      conversationId: conversation.id,
      inReplyToId: inboundId,
      channelKind: msg.channel.kind,
      author: direct.author,
      text: direct.text,
    },
    { audits: [direct.audit], agentId: turn.agentId },
    log,
  );
  await deps.publishReply(turn.toReply(saved));
  deps.publishEvent?.({
    type: 'conversation',
    tenantId: msg.tenantId,
    conversationId: conversation.id,
    agentId: turn.agentId,
    state: conversation.state,
    lastMessageId: saved.id,
    at: new Date().toISOString(),
  });
  log.info({ replyId: saved.id, action: direct.audit.action }, 'reply published without calling the model');
  return 'ack';
}
