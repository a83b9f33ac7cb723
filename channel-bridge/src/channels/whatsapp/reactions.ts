import type { Logger } from '@konstruct/core';
import { tenantScope, type Db } from '@konstruct/db';
import type { DeliveryFeedback } from './feedback.ts';
import type { WaReaction } from './normalize.ts';
import type { WhatsAppRoute } from './routing.ts';

export interface ReactionDeps {
  db: Db;
  feedback: DeliveryFeedback;
  logger: Logger;
}

/**
 * Records a reaction in the contact's conversation as a message from the user ("Reacted 👍
 * to: …") without invoking the employee: answering every emoji would spend the user's 6-second
 * pair slots and read as spam, yet the reaction stays in the transcript (and in the employee's
 * history for its next turn). Keyed by the reaction's wamid, so Meta's retries add nothing.
 * It does not reopen the 24-hour window: only a message the runner records does.
 */
export async function recordWhatsAppReaction(deps: ReactionDeps, route: WhatsAppRoute, r: WaReaction): Promise<'recorded' | 'duplicate'> {
  const scope = tenantScope(route.tenantId);
  const result = await deps.db.withTenant(scope, async (tx) => {
    let conversation = await tx.conversation.findUnique({
      where: { tenantId_externalRef: { tenantId: route.tenantId, externalRef: r.conversationRef } },
      select: { id: true, agentId: true, state: true },
    });
    if (!conversation) {
      const connection = await tx.channelConnection.findUnique({ where: { id: route.connectionId }, select: { agentId: true } });
      if (!connection?.agentId) return { kind: 'no agent' as const };
      conversation = await tx.conversation.upsert({
        where: { tenantId_externalRef: { tenantId: route.tenantId, externalRef: r.conversationRef } },
        create: {
          tenantId: route.tenantId,
          agentId: connection.agentId,
          connectionId: route.connectionId,
          channelKind: 'whatsapp',
          externalRef: r.conversationRef,
          endUserExternalId: r.from,
        },
        update: {},
        select: { id: true, agentId: true, state: true },
      });
    }
    const target = await tx.message.findFirst({
      where: { conversationId: conversation.id, OR: [{ externalId: r.messageId }, { providerMessageId: r.messageId }] },
      select: { text: true },
    });
    const about = target ? `"${snippet(target.text)}"` : `message ${r.messageId}`;
    const created = await tx.message.createManyAndReturn({
      data: [
        {
          tenantId: route.tenantId,
          conversationId: conversation.id,
          direction: 'inbound',
          author: 'end_user',
          channelKind: 'whatsapp',
          externalId: r.externalId,
          senderExternalId: r.from,
          text: r.emoji ? `Reacted ${r.emoji} to ${about}` : `Removed a reaction from ${about}`,
          deliveryState: 'received',
          createdAt: new Date(r.receivedAt),
        },
      ],
      skipDuplicates: true,
      select: { id: true },
    });
    if (!created.length) return { kind: 'duplicate' as const };
    await tx.conversation.update({ where: { id: conversation.id }, data: { lastMessageAt: new Date(r.receivedAt) } });
    return { kind: 'recorded' as const, conversation, messageId: created[0]!.id };
  });

  if (result.kind === 'no agent') {
    // No employee on this number, so no conversation to put it in: keep it in the audit trail.
    await deps.feedback.audit(route.tenantId, {
      actorKind: 'end_user',
      actorId: r.from,
      action: 'whatsapp.reaction_unassigned',
      subjectType: 'channel_connection',
      subjectId: route.connectionId,
      data: { emoji: r.emoji, messageId: r.messageId, reactionId: r.externalId },
    });
    return 'recorded';
  }
  if (result.kind === 'duplicate') return 'duplicate';
  deps.feedback.publish({
    type: 'conversation',
    tenantId: route.tenantId,
    conversationId: result.conversation.id,
    agentId: result.conversation.agentId,
    state: result.conversation.state,
    lastMessageId: result.messageId,
    at: new Date().toISOString(),
  });
  return 'recorded';
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 80 ? `${flat.slice(0, 79)}…` : flat;
}
