import { notFound } from '@konstruct/graphql';
import type { Db, Prisma, TenantScope } from '@konstruct/db';
import { isUuid } from '../domain/field-error.ts';

/**
 * Hands a conversation back to its agent (AGNT-05, the API side of `release` in the Slack
 * thread): the handoff is released, the conversation active again, and `handoff.released` is
 * audited in the same transaction. Releasing a released handoff changes nothing.
 */
export async function releaseHandoff(db: Db, scope: TenantScope, id: string, releasedBy: { kind: 'operator' | 'api_key'; id: string }) {
  if (!isUuid(id)) return notFound('Handoff', id);
  const by = `${releasedBy.kind}:${releasedBy.id}`;
  const row = await db.withTenant(scope, async (tx) => {
    const released = await tx.handoff.updateMany({ where: { id, status: 'open' }, data: { status: 'released', releasedAt: new Date(), releasedBy: by } });
    const handoff = await tx.handoff.findUnique({ where: { id } });
    if (!handoff || released.count === 0) return handoff;
    const stillOpen = await tx.handoff.count({ where: { conversationId: handoff.conversationId, status: 'open' } });
    if (!stillOpen) await tx.conversation.update({ where: { id: handoff.conversationId }, data: { state: 'active' } });
    await tx.auditEvent.create({
      data: {
        tenantId: scope.tenantId,
        actorKind: releasedBy.kind,
        actorId: releasedBy.id,
        action: 'handoff.released',
        subjectType: 'handoff',
        subjectId: id,
        data: { handoffId: id, conversationId: handoff.conversationId, releasedBy: by } as Prisma.InputJsonValue,
      },
    });
    return handoff;
  });
  return row ?? notFound('Handoff', id);
}
