import { isUuid } from '@konstruct/core';
import type { Db, Prisma, TenantScope } from '@konstruct/db';
import { auditWhere, type AuditFilter } from './filter.ts';
import { afterOccurred, pageByOccurred, type OccurredKey } from './cursor.ts';

/** An audit event as the API shows it; the tenant is implicit in the scope. */
export interface AuditEventRecord {
  id: string;
  seq: bigint;
  occurredAt: Date;
  actorKind: string;
  actorId: string | null;
  action: string;
  subjectType: string | null;
  subjectId: string | null;
  data: Prisma.JsonValue;
  prevHash: string;
  hash: string;
}

const SELECT = {
  id: true,
  seq: true,
  occurredAt: true,
  actorKind: true,
  actorId: true,
  action: true,
  subjectType: true,
  subjectId: true,
  data: true,
  prevHash: true,
  hash: true,
} as const satisfies Prisma.AuditEventSelect;

export { isUuid };

export interface AuditPageArgs {
  filter?: AuditFilter | null;
  /** Extra condition ANDed with the filter (e.g. "involves this agent"). */
  where?: Prisma.AuditEventWhereInput;
  first: number;
  after: OccurredKey | null;
}

/** Newest first; row-level security confines the query to the scope's tenant. */
export async function listAuditEvents(scope: TenantScope, db: Db, args: AuditPageArgs) {
  const rows = await db.withTenant(scope, (tx) =>
    tx.auditEvent.findMany({
      where: { AND: [auditWhere(args.filter), args.where ?? {}, afterOccurred(args.after)] },
      orderBy: [{ occurredAt: 'desc' }, { id: 'desc' }],
      take: args.first + 1,
      select: SELECT,
    }),
  );
  return pageByOccurred(rows, args.first);
}

/** Events an agent took part in, as actor or as subject. */
export const involving = (id: string): Prisma.AuditEventWhereInput => ({ OR: [{ actorId: id }, { subjectId: id }] });

export async function getAuditEvent(scope: TenantScope, db: Db, id: string): Promise<AuditEventRecord | null> {
  if (!isUuid(id)) return null;
  return db.withTenant(scope, (tx) => tx.auditEvent.findUnique({ where: { id }, select: SELECT }));
}

export interface ChainStatus {
  intact: boolean;
  firstBrokenSeq: bigint | null;
  problem: string | null;
  eventsChecked: number;
}

/**
 * Recomputes the tenant's hash chain in the database (konstruct_audit_verify). The count and
 * the walk are one statement, so they see the same snapshot even while events are appended.
 */
export async function verifyAuditChain(scope: TenantScope, db: Db): Promise<ChainStatus> {
  const rows = await db.withTenant(scope, (tx) =>
    tx.$queryRaw<{ n: bigint; seq: bigint | null; problem: string | null }[]>`
      SELECT (SELECT count(*) FROM audit_events WHERE tenant_id = ${scope.tenantId}::uuid) AS n,
             v.seq, v.problem
        FROM (SELECT 1) AS one
        LEFT JOIN konstruct_audit_verify(${scope.tenantId}::uuid) AS v ON true`,
  );
  const r = rows[0];
  if (!r) throw new Error('konstruct_audit_verify returned no row');
  return {
    intact: r.seq === null,
    firstBrokenSeq: r.seq,
    problem: r.problem,
    eventsChecked: Number(r.n),
  };
}
