import type { TenantScope } from '@konstruct/db';
import type { ToolSpec } from '../llm/types.ts';
import type { BuiltinName, RequestHandoff, SearchMemory, ToolCallContext, ToolErrorCode } from './types.ts';

export interface BuiltinDeps {
  searchMemory?: SearchMemory;
  requestHandoff?: RequestHandoff;
  /** Wall clock for `current_time`. */
  clock(): Date;
}

export interface BuiltinCall {
  scope: TenantScope;
  agentId: string;
  toolCallId: string;
  args: Record<string, unknown>;
  ctx: ToolCallContext;
}

export type BuiltinOutcome =
  | { ok: true; content: string; handoff?: { handoffId: string | null } }
  | { ok: false; code: ToolErrorCode; message: string };

interface Builtin {
  /** Offered to the model when the tenant's row does not describe it. */
  description: string;
  parameters: Record<string, unknown>;
  /** Whether the runner was given what this built-in needs. */
  available(deps: BuiltinDeps): boolean;
  run(call: BuiltinCall, deps: BuiltinDeps): Promise<BuiltinOutcome>;
}

const MEMORY_K_DEFAULT = 5;
const MEMORY_K_MAX = 20;

/**
 * The built-in tools. A tenant enables one by assigning a `builtin` tool definition with the
 * same name to the agent (its description, if the tenant wrote one, is what the model sees);
 * the parameters are always the ones defined here, because the code depends on them.
 */
export const BUILTINS: Record<BuiltinName, Builtin> = {
  memory_search: {
    description:
      'Search your long-term memory of this customer (facts they told you in earlier conversations, preferences, account details) for a query. Returns the closest memories, best first.',
    parameters: {
      type: 'object',
      properties: {
        query: { type: 'string', minLength: 1, maxLength: 1000, description: 'What to look for, in a few words.' },
        k: { type: 'integer', minimum: 1, maximum: MEMORY_K_MAX, description: `How many memories to return (default ${MEMORY_K_DEFAULT}).` },
      },
      required: ['query'],
      additionalProperties: false,
    },
    available: (deps) => deps.searchMemory !== undefined,
    async run({ scope, agentId, args, ctx }, deps) {
      const k = typeof args.k === 'number' ? args.k : MEMORY_K_DEFAULT;
      try {
        const hits = await deps.searchMemory!(scope, agentId, ctx.endUserExternalId, String(args.query), k);
        const memories = hits.slice(0, k).map((h) => ({
          text: h.text,
          ...(h.score !== undefined && { score: Math.round(h.score * 1000) / 1000 }),
          ...(h.createdAt !== undefined && { rememberedAt: new Date(h.createdAt).toISOString() }),
        }));
        return { ok: true, content: JSON.stringify({ memories }) };
      } catch {
        return { ok: false, code: 'failed', message: 'memory search is unavailable right now; answer without it' };
      }
    },
  },

  current_time: {
    description: 'The current date and time, in UTC and in a given IANA time zone (for example "Europe/Berlin").',
    parameters: {
      type: 'object',
      properties: {
        timezone: { type: 'string', maxLength: 64, description: 'An IANA time zone name such as "America/New_York". Default: UTC.' },
      },
      additionalProperties: false,
    },
    available: () => true,
    async run({ args }, deps) {
      const requested = typeof args.timezone === 'string' && args.timezone.trim() ? args.timezone.trim() : 'UTC';
      const zone = ianaZone(requested);
      if (!zone) return { ok: false, code: 'invalid_arguments', message: `unknown time zone ${JSON.stringify(requested)}; use an IANA name such as "Europe/Berlin"` };
      return { ok: true, content: JSON.stringify(timeIn(deps.clock(), zone)) };
    },
  },

  handoff_to_human: {
    description:
      'Hand this conversation over to a human colleague when you cannot help, the customer asks for a person, or the matter needs human judgement. The human receives your summary and the transcript; you stop replying in this conversation.',
    parameters: {
      type: 'object',
      properties: {
        reason: { type: 'string', minLength: 1, maxLength: 500, description: 'Why a human should take over.' },
        summary: { type: 'string', minLength: 1, maxLength: 4000, description: 'What the human needs to know: the request, what was tried, what is open.' },
      },
      required: ['reason', 'summary'],
      additionalProperties: false,
    },
    available: (deps) => deps.requestHandoff !== undefined,
    async run({ scope, agentId, toolCallId, args, ctx }, deps) {
      if (!ctx.conversationId) return { ok: false, code: 'failed', message: 'there is no conversation to hand over' };
      let outcome;
      try {
        outcome = await deps.requestHandoff!({
          scope,
          agentId,
          conversationId: ctx.conversationId,
          endUserExternalId: ctx.endUserExternalId,
          messageId: ctx.messageId ?? null,
          reason: String(args.reason),
          summary: String(args.summary),
          toolCallId,
        });
      } catch {
        outcome = { ok: false as const, error: 'the handoff could not be started' };
      }
      if (!outcome.ok) return { ok: false, code: 'failed', message: `handoff failed: ${outcome.error}` };
      return {
        ok: true,
        handoff: { handoffId: outcome.handoffId },
        content: JSON.stringify({
          status: 'handed_off',
          handoffId: outcome.handoffId,
          note: 'A human colleague has been asked to take over this conversation. Tell the customer briefly that a person will follow up here; do not promise a time.',
        }),
      };
    },
  },
};

export function isBuiltinName(name: string): name is BuiltinName {
  return Object.hasOwn(BUILTINS, name);
}

export function builtinSpec(name: BuiltinName, description?: string | null): ToolSpec {
  const b = BUILTINS[name];
  return { name, description: description?.trim() || b.description, parameters: b.parameters };
}

/**
 * The zone name when Intl knows it, else null. Offsets and abbreviations are not zones. The
 * name is kept as given: ICU would "canonicalize" Asia/Kolkata to the older Asia/Calcutta.
 */
export function ianaZone(name: string): string | null {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(name)) return null;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return name;
  } catch {
    return null;
  }
}

export function timeIn(now: Date, zone: string) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      weekday: 'long',
      timeZoneName: 'longOffset',
    })
      .formatToParts(now)
      .map((p) => [p.type, p.value]),
  );
  // "GMT+05:30" → "+05:30"; plain "GMT" is UTC.
  const offset = (parts.timeZoneName ?? 'GMT').replace(/^GMT/, '') || '+00:00';
  return {
    utc: now.toISOString(),
    timezone: zone,
    local: `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${offset}`,
    weekday: parts.weekday,
  };
}
