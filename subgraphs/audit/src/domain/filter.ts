import type { Prisma } from '@konstruct/db';

/** What a caller may filter the audit log by; every field narrows the result (AND). */
export interface AuditFilter {
  action?: string | null;
  actorKind?: string | null;
  actorId?: string | null;
  subjectType?: string | null;
  subjectId?: string | null;
  /** Inclusive lower bound on occurredAt. */
  from?: Date | null;
  /** Exclusive upper bound on occurredAt, so consecutive windows do not overlap. */
  to?: Date | null;
}

/** Prisma `where` for a filter; absent (null/undefined) fields do not constrain. */
export function auditWhere(filter: AuditFilter | null | undefined): Prisma.AuditEventWhereInput {
  const f = filter ?? {};
  const where: Prisma.AuditEventWhereInput = {};
  for (const key of ['action', 'actorKind', 'actorId', 'subjectType', 'subjectId'] as const) {
    const v = f[key];
    if (v != null) where[key] = v;
  }
  if (f.from || f.to) {
    where.occurredAt = { ...(f.from ? { gte: f.from } : {}), ...(f.to ? { lt: f.to } : {}) };
  }
  return where;
}
