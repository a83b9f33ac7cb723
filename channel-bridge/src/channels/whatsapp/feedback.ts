import type { Redis } from 'ioredis';
import { tenantEventsChannel, type Logger, type TenantEvent } from '@konstruct/core';
import { auditRow, recordAudit, tenantScope, type AuditEntry, type Db } from '@konstruct/db';

export type { AuditEntry };

export interface DeliveryProblem {
  /** The outbound reply that did not reach the user. */
  messageId: string;
  conversationId: string;
  /** Vendor error code (`131047`), or null when the problem is ours (no template configured). */
  code: string | null;
  /** Human-readable: what happened and what a person can do. */
  reason: string;
  /** Distinguishes notes for the same message (a reply can fail, then be held). */
  noteKey: string;
  audit: { action: string; data?: Record<string, unknown> };
}

/**
 * Tells people that a reply did not reach the end user — never silently: a system note in the
 * conversation (the transcript shows it, and the employee sees it in its history), an audit
 * event, and live events (`conversation`, `delivery_alert`) for the portal. Each problem is
 * reported once: the note is keyed, so a status webhook Meta repeats adds nothing. Never throws.
 */
export class DeliveryFeedback {
  private readonly log: Logger;

  constructor(
    private readonly db: Db,
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    logger: Logger,
  ) {
    this.log = logger.child({ source: 'whatsapp-feedback' });
  }

  async report(tenantId: string, state: 'failed' | 'held', p: DeliveryProblem): Promise<void> {
    const scope = tenantScope(tenantId);
    const entry: AuditEntry = {
      actorKind: 'system',
      action: p.audit.action,
      subjectType: 'message',
      subjectId: p.messageId,
      data: { conversationId: p.conversationId, channel: 'whatsapp', state, code: p.code, reason: p.reason, ...p.audit.data },
    };
    let recorded: { noteId: string; agentId: string; conversationState: string } | null = null;
    try {
      recorded = await this.db.withTenant(scope, async (tx) => {
        const conversation = await tx.conversation.findUnique({
          where: { id: p.conversationId },
          select: { agentId: true, state: true },
        });
        if (!conversation) return null;
        const note = await tx.message.createManyAndReturn({
          data: [
            {
              tenantId,
              conversationId: p.conversationId,
              direction: 'inbound',
              author: 'system',
              channelKind: 'whatsapp',
              // Keyed, so a repeated status webhook does not add a second note.
              externalId: `delivery:${p.messageId}:${p.noteKey}`,
              text: `${state === 'held' ? 'Reply held' : 'Reply not delivered'}: ${p.reason}`,
              deliveryState: 'received',
            },
          ],
          skipDuplicates: true,
          select: { id: true },
        });
        if (note.length === 0) return null;
        await tx.auditEvent.create({ data: auditRow(tenantId, entry) });
        return { noteId: note[0]!.id, agentId: conversation.agentId, conversationState: conversation.state };
      });
    } catch (e) {
      this.log.error({ err: e, tenantId, messageId: p.messageId }, 'delivery note could not be recorded; recording the audit event alone');
      await this.audit(tenantId, entry);
      return;
    }
    if (!recorded) return;
    const at = new Date().toISOString();
    this.publish({
      type: 'conversation',
      tenantId,
      conversationId: p.conversationId,
      agentId: recorded.agentId,
      state: recorded.conversationState,
      lastMessageId: recorded.noteId,
      at,
    });
    this.publish({
      type: 'delivery_alert',
      tenantId,
      conversationId: p.conversationId,
      messageId: p.messageId,
      channelKind: 'whatsapp',
      state,
      code: p.code,
      reason: p.reason,
      at,
    });
    this.log.warn({ tenantId, messageId: p.messageId, state, code: p.code }, `whatsapp reply ${state}: ${p.reason}`);
  }

  /** Appends to the tenant's audit trail; a failure is logged with the entry, never thrown. */
  async audit(tenantId: string, entry: AuditEntry): Promise<void> {
    await recordAudit(this.db, tenantScope(tenantId), entry, this.log);
  }


  /** Live event on the tenant's Redis channel; fire and forget. */
  publish(event: TenantEvent): void {
    this.redis.publish(tenantEventsChannel(this.keyPrefix, event.tenantId), JSON.stringify(event)).catch((e: unknown) => {
      this.log.warn({ err: (e as Error).message, type: event.type }, 'live event not published');
    });
  }
}
