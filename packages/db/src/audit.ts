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

/**
 * The entry as Postgres can always store it, so that what is recorded is never refused for its
 * content: a NUL character (which neither text nor jsonb accept; it can come from a message or a
 * tool's answer) becomes U+FFFD, a bigint becomes its digits, and a value JSON cannot hold (a
 * cycle, a function) becomes a short description of itself.
 */
export function storableAudit(e: AuditEntry): AuditEntry {
  const text = (v: string) => v.replaceAll('\u0000', '\uFFFD');
  const seen = new WeakSet<object>();
  const value = (v: unknown): unknown => {
    if (typeof v === 'string') return text(v);
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
    if (v === null || typeof v === 'boolean') return v;
    if (v === undefined) return undefined;
    if (typeof v === 'function' || typeof v === 'symbol') return `[${typeof v}]`;
    if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
    if (seen.has(v as object)) return '[circular]';
    seen.add(v as object);
    if (Array.isArray(v)) return v.map((x) => value(x) ?? null);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const y = value(x);
      if (y !== undefined) out[text(k)] = y;
    }
    return out;
  };
  return {
    actorKind: e.actorKind,
    action: text(e.action),
    ...(e.actorId !== undefined && { actorId: text(e.actorId) }),
    ...(e.subjectType !== undefined && { subjectType: text(e.subjectType) }),
    ...(e.subjectId !== undefined && { subjectId: text(e.subjectId) }),
    ...(e.data !== undefined && { data: value(e.data) as Record<string, unknown> }),
  };
}

/** The row for an audit entry; `seq` and the hash chain are filled in by the database. */
export function auditRow(tenantId: string, entry: AuditEntry): Prisma.AuditEventUncheckedCreateInput {
  const e = storableAudit(entry);
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
