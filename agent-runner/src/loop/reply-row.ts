import { randomUUID } from 'node:crypto';
import type { TenantTx } from '@konstruct/db';

export interface ReplyRow {
  id: string;
  text: string;
  deliveryState: string;
}

/**
 * Writes the reply to an inbound message — at most one ever exists (`in_reply_to_id` is
 * unique). `fresh` is false when a concurrent redelivery answered first: its reply is returned,
 * to be published instead of a second one, and nothing that belongs with a new reply (usage,
 * audit) should be written.
 */
export async function insertReply(
  tx: TenantTx,
  reply: {
    tenantId: string;
    conversationId: string;
    inReplyToId: string;
    channelKind: 'slack' | 'whatsapp';
    author: 'agent' | 'system';
    text: string;
  },
): Promise<ReplyRow & { fresh: boolean }> {
  const id = randomUUID();
  const created = await tx.message.createMany({
    data: [{ id, ...reply, direction: 'outbound', deliveryState: 'pending' }],
    skipDuplicates: true,
  });
  if (created.count === 1) return { id, text: reply.text, deliveryState: 'pending', fresh: true };
  const existing = await tx.message.findUniqueOrThrow({
    where: { inReplyToId: reply.inReplyToId },
    select: { id: true, text: true, deliveryState: true },
  });
  return { ...existing, fresh: false };
}
