import type { AuditEntry } from '../audit/recorder.ts';
import { BudgetBlocked } from './budgeted-model.ts';
import { LlmAborted, LlmUnavailable, type ChatModel, type ChatResult, type LlmAttempt, type RoutedResult } from '../llm/types.ts';

/** One model call of a turn: every attempt the router made for it, and the answer if there was one. */
export interface ModelCall {
  attempts: LlmAttempt[];
  result: ChatResult | null;
  fellBack: boolean;
  error?: unknown;
}

/**
 * Wraps the turn's model so every call (the tool loop makes several) is kept with its attempts,
 * for the audit trail and usage records that commit with the reply. A model that is not the
 * router (tests' overrides, a single-provider client) reports no attempts; one is derived from
 * its result or failure so the audit trail still has a row per call.
 */
export function recordingModel(model: ChatModel, calls: ModelCall[]): ChatModel {
  return {
    async complete(req) {
      const seen: LlmAttempt[] = [];
      const onAttempt = (a: LlmAttempt) => {
        seen.push(a);
        req.onAttempt?.(a);
      };
      const started = Date.now();
      try {
        const result = await model.complete({ ...req, onAttempt });
        const routed = result as Partial<RoutedResult>;
        const attempts = seen.length ? seen : (routed.attempts ?? [derivedAttempt(result, req.model)]);
        calls.push({ attempts, result, fellBack: routed.fellBack === true });
        return result;
      } catch (e) {
        // Refused by a budget before any provider was asked: audited as budget.blocked, not as a call.
        if (e instanceof BudgetBlocked) throw e;
        const fromError = e instanceof LlmUnavailable || e instanceof LlmAborted ? e.attempts : [];
        const attempts = seen.length ? seen : fromError.length ? fromError : [failedAttempt(e, req.model, Date.now() - started)];
        calls.push({ attempts, result: null, fellBack: false, error: e });
        throw e;
      }
    },
  };
}

function derivedAttempt(r: ChatResult, requested?: string): LlmAttempt {
  return {
    seq: 1,
    deployment: `${r.provider}:${requested ?? r.model}`,
    provider: r.provider,
    model: r.model,
    try: 1,
    keySource: 'platform',
    outcome: 'ok',
    latencyMs: r.latencyMs,
    usage: r.usage,
    costUsdMicros: r.costUsdMicros,
  };
}

function failedAttempt(e: unknown, requested: string | undefined, latencyMs: number): LlmAttempt {
  return {
    seq: 1,
    deployment: `openai:${requested ?? 'unknown'}`,
    provider: 'openai',
    model: requested ?? 'unknown',
    try: 1,
    keySource: 'platform',
    outcome: 'error',
    errorClass: e instanceof LlmAborted ? 'aborted' : 'unknown',
    message: e instanceof LlmUnavailable ? e.reason : e instanceof Error ? e.message : String(e),
    latencyMs,
    next: 'give_up',
  };
}

const micros = (v: bigint | null | undefined) => (v === null || v === undefined ? null : Number(v));

/**
 * The audit entries of a turn's model calls: `llm.call` for every attempt (the successful one
 * with tokens and cost, failed ones with the error class), and `llm.fallback` when a call was
 * answered by a later deployment than the first it tried, or one `llm.call` with outcome
 * `unavailable` and the router's reason when no deployment answered.
 */
export function modelCallAudits(calls: ModelCall[], agentId: string, subject: { type: string; id: string }): AuditEntry[] {
  const entries: AuditEntry[] = [];
  const base = { actorKind: 'agent' as const, actorId: agentId, subjectType: subject.type, subjectId: subject.id };
  calls.forEach((call, index) => {
    for (const a of call.attempts) {
      entries.push({
        ...base,
        action: 'llm.call',
        data: {
          call: index + 1,
          attempt: a.seq,
          deployment: a.deployment,
          provider: a.provider,
          model: a.outcome === 'ok' && call.result && a === call.attempts.findLast((x) => x.outcome === 'ok') ? call.result.model : a.model,
          try: a.try,
          keySource: a.keySource,
          outcome: a.outcome,
          ...(a.errorClass && { errorClass: a.errorClass }),
          ...(a.status !== undefined && { status: a.status }),
          ...(a.message && a.outcome !== 'ok' && { error: a.message.slice(0, 500) }),
          ...(a.next && { next: a.next }),
          latencyMs: a.latencyMs,
          inputTokens: a.usage?.inputTokens ?? 0,
          outputTokens: a.usage?.outputTokens ?? 0,
          cacheReadTokens: a.usage?.cacheReadTokens ?? 0,
          cacheWriteTokens: a.usage?.cacheWriteTokens ?? 0,
          costUsdMicros: micros(a.costUsdMicros),
        },
      });
    }
    if (!call.result) {
      // The call as a whole: what the user's turn ended with, and why, in one row.
      entries.push({
        ...base,
        action: 'llm.call',
        data: {
          call: index + 1,
          outcome: call.error instanceof LlmAborted ? 'aborted' : 'unavailable',
          provider: call.attempts.at(-1)?.provider ?? null,
          model: call.attempts.at(-1)?.model ?? null,
          attempts: call.attempts.length,
          reason: call.error instanceof LlmUnavailable ? call.error.reason : call.error instanceof Error ? call.error.message : String(call.error),
          latencyMs: call.attempts.reduce((sum, a) => sum + a.latencyMs, 0),
        },
      });
    }
    if (call.result && call.fellBack) {
      const first = call.attempts[0];
      const answered = call.attempts.findLast((a) => a.outcome === 'ok');
      entries.push({
        ...base,
        action: 'llm.fallback',
        data: {
          call: index + 1,
          from: first?.deployment ?? null,
          to: answered?.deployment ?? `${call.result.provider}:${call.result.model}`,
          failedAttempts: call.attempts.filter((a) => a.outcome !== 'ok').length,
          reasons: [...new Set(call.attempts.flatMap((a) => (a.outcome !== 'ok' && a.errorClass ? [a.errorClass] : [])))],
        },
      });
    }
  });
  return entries;
}
