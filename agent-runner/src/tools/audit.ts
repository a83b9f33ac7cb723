import type { AuditEntry } from '../audit/recorder.ts';
import type { ToolCallAudit } from './loop.ts';

/**
 * The audit entry for one tool call (action `tool.call`), for `recordAudit`. The data holds
 * the tool, its kind, the outcome, HTTP status, latency and the argument names — never the
 * argument values, the response, or the signing secret.
 */
export function toolAuditEntry(agentId: string, call: ToolCallAudit, subject?: { type: string; id: string }): AuditEntry {
  const { tool, toolId, kind, toolCallId, outcome, errorCode, status, latencyMs, argumentKeys, responseBytes, step } = call;
  return {
    actorKind: 'agent',
    actorId: agentId,
    action: 'tool.call',
    ...(subject && { subjectType: subject.type, subjectId: subject.id }),
    data: {
      tool,
      toolId,
      kind,
      toolCallId,
      step,
      outcome,
      ...(errorCode !== undefined && { errorCode }),
      ...(status !== undefined && { status }),
      latencyMs,
      argumentKeys,
      ...(responseBytes !== undefined && { responseBytes }),
    },
  };
}
