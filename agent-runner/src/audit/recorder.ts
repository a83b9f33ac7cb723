import type { Logger } from '@konstruct/core';
import { Prisma, type Db, type TenantScope } from '@konstruct/db';

export interface AuditEntry {
  actorKind: 'agent' | 'operator' | 'system' | 'end_user' | 'api_key';
  actorId?: string;
  action: string;
  subjectType?: string;
  subjectId?: string;
  data?: Record<string, unknown>;
}

/**
 * Appends to the tenant's hash-chained audit trail. Recording never throws into the reply
 * path: a failure is logged with the full entry so it can be replayed.
 */
export async function recordAudit(db: Db, scope: TenantScope, entry: AuditEntry, logger: Logger): Promise<void> {
  try {
    await db.withTenant(scope, (tx) =>
      tx.auditEvent.create({
        data: {
          tenantId: scope.tenantId,
          actorKind: entry.actorKind,
          actorId: entry.actorId ?? null,
          action: entry.action,
          subjectType: entry.subjectType ?? null,
          subjectId: entry.subjectId ?? null,
          data: (entry.data ?? {}) as Prisma.InputJsonValue,
        },
      }),
    );
  } catch (e) {
    logger.error({ err: e, audit: { tenantId: scope.tenantId, ...entry } }, 'audit event could not be recorded');
  }
}
