import { errorMessage, type Logger, type Result } from '@konstruct/core';
import type { TenantScope } from '@konstruct/db';
import type { LongTermMemory, PreparedRecall, RecalledMemory, RememberOutcome } from './long-term.ts';
import { formatMemories } from './long-term.ts';
import type { WindowEntry } from './types.ts';
import type { ConversationWindow } from './window.ts';

/**
 * The two calls a turn makes to memory, so the turn loop needs no knowledge of Redis, vectors
 * or heuristics: `before` the model call (history and recalled memories, fetched in parallel),
 * `after` the reply is stored (the turn into the window, the worth-remembering facts into
 * long-term memory). Neither throws: memory that is unavailable makes a reply with less
 * context, never no reply.
 */

export interface TurnContext {
  agentId: string;
  conversationId: string;
  endUserExternalId: string | null;
  /** The inbound message's id: the window's turn id. */
  inboundMessageId: string;
  /** What the end user wrote. */
  userText: string;
  /** The conversation was created by this message: it has no earlier turns to load, and its window starts with this turn. */
  newConversation: boolean;
}

export interface BeforeTurn {
  /** The window without the current message, oldest first: goes between system prompt and the new message. */
  history: WindowEntry[];
  historySource: 'redis' | 'postgres' | 'none';
  /** A system-prompt section with the recalled memories, or null when there are none. */
  memoryPrompt: string | null;
  recalled: RecalledMemory[];
}

export interface BeforeOptions {
  /** The recall already ran (in the turn's opening transaction, from `prepareRecall`). */
  recalled?: Result<RecalledMemory[], string>;
}

export interface AfterTurn {
  windowUpdated: boolean;
  remembered: RememberOutcome | null;
}

export interface TurnMemoryDeps {
  window: ConversationWindow;
  longTerm: LongTermMemory;
  /** Memories recalled per turn; 0 turns recall off. */
  recallK: number;
  logger: Logger;
}

export function createTurnMemory(deps: TurnMemoryDeps) {
  const log = deps.logger.child({ source: 'memory' });
  return {
    /**
     * The recall, made ready to run inside the caller's transaction (see LongTermMemory.prepareRecall);
     * its result goes to `before` as `recalled`. Null when recall is off.
     */
    async prepareRecall(scope: TenantScope, ctx: Pick<TurnContext, 'agentId' | 'endUserExternalId' | 'userText'>): Promise<PreparedRecall | null> {
      if (deps.recallK <= 0) return null;
      return deps.longTerm.prepareRecall(scope, { agentId: ctx.agentId, endUserExternalId: ctx.endUserExternalId, query: ctx.userText, k: deps.recallK });
    },

    async before(scope: TenantScope, ctx: TurnContext, opts: BeforeOptions = {}): Promise<BeforeTurn> {
      const [win, recall] = await Promise.all([
        ctx.newConversation
          ? null
          : deps.window.load(scope, ctx.conversationId, { excludeTurnId: ctx.inboundMessageId }).catch((e: unknown) => {
              log.warn({ err: errorMessage(e), conversationId: ctx.conversationId }, 'conversation history unavailable');
              return null;
            }),
        opts.recalled ??
          (deps.recallK > 0
            ? deps.longTerm
                .recall(scope, { agentId: ctx.agentId, endUserExternalId: ctx.endUserExternalId, query: ctx.userText, k: deps.recallK })
                .then((r): Result<RecalledMemory[], string> => (r.ok ? { ok: true, value: r.value.memories } : r))
            : null),
      ]);
      const recalled = recall?.ok ? recall.value : [];
      return {
        history: win?.entries ?? [],
        historySource: win?.source ?? 'none',
        memoryPrompt: formatMemories(recalled),
        recalled,
      };
    },

    /** `entries`: the whole turn — the user's message, tool calls and results, the reply. */
    async after(scope: TenantScope, ctx: TurnContext & { entries: WindowEntry[] }): Promise<AfterTurn> {
      const [appended, remembered] = await Promise.all([
        deps.window.append(scope, ctx.conversationId, { id: ctx.inboundMessageId, entries: ctx.entries }, { newConversation: ctx.newConversation }),
        deps.longTerm.rememberTurn(scope, {
          agentId: ctx.agentId,
          conversationId: ctx.conversationId,
          endUserExternalId: ctx.endUserExternalId,
          messageId: ctx.inboundMessageId,
          userText: ctx.userText,
        }),
      ]);
      if (!appended.ok) log.warn({ error: appended.error, conversationId: ctx.conversationId }, 'turn not added to the conversation window');
      return { windowUpdated: appended.ok, remembered: remembered.ok ? remembered.value : null };
    },
  };
}

export type TurnMemory = ReturnType<typeof createTurnMemory>;
