import type { Prisma } from './generated/prisma/client.ts';
import type { Db, TenantScope } from './client.ts';

/** One action for a tenant's audit trail, as any service records it. */
export interface AuditEntry {
  actorKind: 'agent' | 'operator' | 'system' | 'end_user' | 'api_key';
  actorId?: string;
  action: string;
  subjectType?: string;
  subjectId?: string;
  data?: Record<string, unknown>;
}

/** The row for an audit entry; `seq` and the hash chain are filled in by the database. */
export function auditRow(tenantId: string, e: AuditEntry): Prisma.AuditEventUncheckedCreateInput {
  return {
    tenantId,
    actorKind: e.actorKind,
    actorId: e.actorId ?? null,
    action: e.action,
    subjectType: e.subjectType ?? null,
    subjectId: e.subjectId ?? null,
    data: (e.data ?? {}) as Prisma.InputJsonValue,
  };
}

/**
 * Appends to the tenant's hash-chained audit trail on its own. Recording never throws into the
 * caller: a failure is logged with the full entry so it can be replayed.
 */
export async function recordAudit(
  db: Db,
  scope: TenantScope,
  entry: AuditEntry,
  logger: { error(obj: object, msg: string): void },
): Promise<void> {
  try {
    await db.withTenant(scope, (tx) => tx.auditEvent.create({ data: auditRow(scope.tenantId, entry) }));
  } catch (e) {
    logger.error({ err: e, audit: { tenantId: scope.tenantId, ...entry } }, 'audit event could not be recorded');
  }
}
