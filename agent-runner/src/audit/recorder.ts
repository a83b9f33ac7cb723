/** The audit trail, as the runner records it: shared with every service in `@konstruct/db`. */
export { auditRow, recordAudit, type AuditEntry } from '@konstruct/db';
