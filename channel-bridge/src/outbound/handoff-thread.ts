import { Prisma, type Db, type TenantScope } from '@konstruct/db';
import { slackConversationRef } from '../channels/slack/threads.ts';

/**
 * After a handoff's summary is posted to the human channel: records the post's thread on the
 * handoff (`humanThread.ts` and `.ref`, which the runner looks replies up by) and gives the
 * human-side conversation that thread's key, so replies there reach the runner like any
 * thread the employee takes part in. Idempotent.
 */
export async function recordHandoffThread(
  db: Db,
  scope: TenantScope,
  post: { handoffId: string; conversationId: string; teamId: string; channel: string; ts: string },
): Promise<void> {
  const ref = slackConversationRef(post.teamId, post.channel, post.ts);
  await db.withTenant(scope, async (tx) => {
    const handoff = await tx.handoff.findUnique({ where: { id: post.handoffId }, select: { humanThread: true } });
    if (!handoff) return;
    const thread = (handoff.humanThread ?? {}) as Record<string, unknown>;
    if (thread.ref !== ref) {
      await tx.handoff.update({
        where: { id: post.handoffId },
        data: { humanThread: { ...thread, channel: post.channel, ts: post.ts, ref } as Prisma.InputJsonValue },
      });
    }
    await tx.conversation.updateMany({ where: { id: post.conversationId, externalRef: { not: ref } }, data: { externalRef: ref } });
  });
}
