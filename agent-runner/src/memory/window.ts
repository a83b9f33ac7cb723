import type { Redis } from 'ioredis';
import { errorMessage, isUuid, type Logger } from '@konstruct/core';
import type { Db, TenantScope } from '@konstruct/db';
import { estimateEntriesTokens } from './tokens.ts';
import type { WindowEntry, WindowTurn } from './types.ts';

/**
 * Sliding-window memory (AGNT-02): the recent transcript of one conversation, in Redis under
 * the tenant's key namespace, `${prefix}t:${tenantId}:win:${conversationId}`.
 *
 * - Bounded by turns and by (estimated) tokens; the oldest turns go first, whole: a turn is
 *   never split, so an assistant's tool call is never separated from its results, and after
 *   trimming the window starts at a user message. The newest turn is kept even when it alone
 *   exceeds the token bound (the model needs the question it is answering).
 * - Appended atomically by one Lua script (upsert by turn id, trim, expiry), so concurrent
 *   writers and a crash between steps cannot leave half a turn or an unbounded list.
 * - Postgres is the record: when Redis has lost the window (expiry, eviction, flush) it is
 *   rebuilt from the conversation's messages, read in the tenant's scope. Messages hold text
 *   only, so a rebuilt window has the user's messages and the replies, not the tool calls.
 */

export interface WindowConfig {
  /** `REDIS_KEY_PREFIX`, e.g. `konstruct:`. */
  keyPrefix: string;
  maxTurns: number;
  maxTokens: number;
  /** Idle conversations are dropped from Redis after this; Postgres still has them. */
  ttlSeconds: number;
}

export const DEFAULT_WINDOW: Omit<WindowConfig, 'keyPrefix'> = { maxTurns: 20, maxTokens: 6_000, ttlSeconds: 3 * 24 * 3600 };

export interface WindowLoad {
  turns: WindowTurn[];
  /** The turns' entries, oldest first: the history part of a prompt. */
  entries: WindowEntry[];
  tokens: number;
  /** Where it came from: Redis, or rebuilt from Postgres (also when Redis was unreachable). */
  source: 'redis' | 'postgres';
}

export type AppendResult =
  | { ok: true; rebuilt: boolean; turns: number; tokens: number; dropped: number }
  | { ok: false; error: string };

/** Longest turn id accepted (ids are message UUIDs in practice). */
const MAX_ID_LENGTH = 200;

/**
 * Element format: `id \t tokens \t startsTurn \t JSON(entries)` — the script reads the three
 * header fields without decoding JSON.
 *
 * ARGV: ttl ms, max turns, max tokens, mode, number of seed elements, seed elements…, new
 * elements…. Mode `append` refuses (-1) when the window is missing, so a lost window is never
 * silently restarted with one turn; mode `seed` writes the seed elements only when the window
 * is missing (a concurrent rebuild wins once). New elements replace the element with the same
 * id, or go to the end. Returns {dropped, length, turns, tokens}.
 */
const WINDOW_SCRIPT = `
local key = KEYS[1]
local ttl = tonumber(ARGV[1])
local maxTurns = tonumber(ARGV[2])
local maxTokens = tonumber(ARGV[3])
local mode = ARGV[4]
local nseed = tonumber(ARGV[5])
local exists = redis.call('EXISTS', key) == 1
if mode == 'append' and not exists then return {-1, 0, 0, 0} end
if not exists then
  for i = 6, 5 + nseed do redis.call('RPUSH', key, ARGV[i]) end
end
local function idOf(el) return string.sub(el, 1, string.find(el, '\\t', 1, true) - 1) end
local items = redis.call('LRANGE', key, 0, -1)
local pos = {}
for i, el in ipairs(items) do pos[idOf(el)] = i end
for i = 6 + nseed, #ARGV do
  local el = ARGV[i]
  local id = idOf(el)
  local p = pos[id]
  if p then
    redis.call('LSET', key, p - 1, el)
    items[p] = el
  else
    redis.call('RPUSH', key, el)
    items[#items + 1] = el
    pos[id] = #items
  end
end
local n = #items
if n == 0 then return {0, 0, 0, 0} end
local toks, starts = {}, {}
local tokens, turns, protect = 0, 0, n
for i, el in ipairs(items) do
  local a = string.find(el, '\\t', 1, true)
  local b = string.find(el, '\\t', a + 1, true)
  local c = string.find(el, '\\t', b + 1, true)
  toks[i] = tonumber(string.sub(el, a + 1, b - 1))
  starts[i] = string.sub(el, b + 1, c - 1) == '1'
  tokens = tokens + toks[i]
  if starts[i] then
    turns = turns + 1
    protect = i
  end
end
local drop = 0
while drop + 1 < protect and (turns > maxTurns or tokens > maxTokens) do
  drop = drop + 1
  tokens = tokens - toks[drop]
  if starts[drop] then turns = turns - 1 end
end
if drop > 0 then
  while drop + 1 < protect and not starts[drop + 1] do
    drop = drop + 1
    tokens = tokens - toks[drop]
  end
  redis.call('LTRIM', key, drop, -1)
end
redis.call('PEXPIRE', key, ttl)
return {drop, n - drop, turns, tokens}
`;

const COMMAND = 'konstructWindowApply';
type WindowCommand = (key: string, ...args: (string | number)[]) => Promise<[number, number, number, number]>;

/** Why a turn cannot be stored, or null. Tool calls must be answered inside the same turn. */
export function validateTurn(turn: WindowTurn): string | null {
  if (!turn.id || turn.id.length > MAX_ID_LENGTH || /[\t\r\n]/.test(turn.id)) return 'turn id must be 1–200 characters without tabs or line breaks';
  if (!turn.entries.length) return 'turn has no entries';
  const pending = new Set<string>();
  const seen = new Set<string>();
  for (const [i, e] of turn.entries.entries()) {
    if (e.role === 'tool') {
      if (!pending.delete(e.toolCallId)) return `entry ${i}: tool result for ${JSON.stringify(e.toolCallId)} answers no open tool call of this turn`;
      continue;
    }
    if (pending.size) return `entry ${i}: tool call(s) ${[...pending].join(', ')} have no result before the next message`;
    if (e.role === 'assistant') {
      for (const call of e.toolCalls ?? []) {
        if (seen.has(call.id)) return `entry ${i}: duplicate tool call id ${JSON.stringify(call.id)}`;
        seen.add(call.id);
        pending.add(call.id);
      }
    }
  }
  if (pending.size) return `tool call(s) ${[...pending].join(', ')} have no result in this turn`;
  return null;
}

function encode(turn: WindowTurn): string {
  const startsTurn = turn.entries[0]?.role === 'user' ? 1 : 0;
  return `${turn.id}\t${estimateEntriesTokens(turn.entries)}\t${startsTurn}\t${JSON.stringify(turn.entries)}`;
}

function decode(el: string): { turn: WindowTurn; tokens: number } {
  const a = el.indexOf('\t');
  const b = el.indexOf('\t', a + 1);
  const c = el.indexOf('\t', b + 1);
  return { turn: { id: el.slice(0, a), entries: JSON.parse(el.slice(c + 1)) as WindowEntry[] }, tokens: Number(el.slice(a + 1, b)) };
}

export interface StoredMessage {
  id: string;
  author: 'end_user' | 'agent' | 'human' | 'system';
  text: string;
  inReplyToId: string | null;
}

/**
 * The conversation's messages (oldest first) as window turns: each end-user message opens a
 * turn; a reply joins the turn of the message it answers, other messages (a human's, a
 * notice) join the latest turn. Without tool calls: Postgres keeps the text only.
 */
export function turnsFromMessages(messages: readonly StoredMessage[], truncated: boolean): WindowTurn[] {
  const turns: WindowTurn[] = [];
  const byId = new Map<string, WindowTurn>();
  for (const m of messages) {
    if (!m.text) continue;
    if (m.author === 'end_user') {
      const turn: WindowTurn = { id: m.id, entries: [{ role: 'user', content: m.text }] };
      turns.push(turn);
      byId.set(m.id, turn);
      continue;
    }
    const entry: WindowEntry = { role: 'assistant', content: m.text };
    const target = (m.inReplyToId && byId.get(m.inReplyToId)) || turns.at(-1);
    if (target) target.entries.push(entry);
    else {
      const turn: WindowTurn = { id: m.id, entries: [entry] };
      turns.push(turn);
      byId.set(m.id, turn);
    }
  }
  // When the read stopped at its limit, leading replies lost their question: start at a user turn.
  if (truncated) {
    const first = turns.findIndex((t) => t.entries[0]?.role === 'user');
    if (first > 0) turns.splice(0, first);
  }
  return turns;
}

export class ConversationWindow {
  private readonly run: WindowCommand;

  constructor(
    private readonly redis: Redis,
    private readonly db: Db,
    private readonly config: WindowConfig,
    private readonly logger: Logger,
  ) {
    if (!(COMMAND in redis)) redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: WINDOW_SCRIPT });
    this.run = (redis as unknown as Record<string, WindowCommand>)[COMMAND]!.bind(redis);
  }

  key(scope: TenantScope, conversationId: string): string {
    return `${this.config.keyPrefix}t:${scope.tenantId}:win:${conversationId}`;
  }

  /**
   * The window, oldest first. `excludeTurnId` leaves out one turn — the one being answered,
   * whose message the prompt adds itself. A missing window is rebuilt from Postgres and stored.
   */
  async load(scope: TenantScope, conversationId: string, opts: { excludeTurnId?: string } = {}): Promise<WindowLoad> {
    const key = this.key(scope, conversationId);
    let elements: string[] | null = null;
    let source: WindowLoad['source'] = 'redis';
    try {
      elements = await this.redis.lrange(key, 0, -1);
      if (!elements.length) {
        source = 'postgres';
        const seed = (await this.fromPostgres(scope, conversationId)).map(encode);
        if (seed.length) {
          await this.apply(key, 'seed', seed, []);
          elements = await this.redis.lrange(key, 0, -1);
        }
      }
    } catch (e) {
      // Redis down: answer from Postgres rather than without history.
      this.logger.warn({ err: errorMessage(e), conversationId }, 'conversation window unavailable in Redis; using Postgres');
      source = 'postgres';
      elements = (await this.fromPostgres(scope, conversationId)).map(encode);
    }
    const decoded = elements.map(decode).filter((d) => d.turn.id !== opts.excludeTurnId);
    return {
      turns: decoded.map((d) => d.turn),
      entries: decoded.flatMap((d) => d.turn.entries),
      tokens: decoded.reduce((n, d) => n + d.tokens, 0),
      source,
    };
  }

  /**
   * Adds (or replaces, by id) one turn. Call it after the turn's messages are in Postgres: if
   * Redis has lost the window, it is rebuilt from there first, then this turn is stored over
   * the rebuilt copy of itself. `newConversation`: the turn started the conversation, so a
   * missing window is simply created with it.
   */
  async append(scope: TenantScope, conversationId: string, turn: WindowTurn, opts: { newConversation?: boolean } = {}): Promise<AppendResult> {
    const invalid = validateTurn(turn);
    if (invalid) return { ok: false, error: invalid };
    const key = this.key(scope, conversationId);
    const element = encode(turn);
    try {
      let rebuilt = false;
      // A conversation this turn started has nothing in Postgres to rebuild from: its window starts here.
      let r = await this.apply(key, opts.newConversation ? 'seed' : 'append', [], [element]);
      if (r[0] === -1) {
        rebuilt = true;
        const seed = (await this.fromPostgres(scope, conversationId)).map(encode);
        r = await this.apply(key, 'seed', seed, [element]);
      }
      return { ok: true, rebuilt, dropped: r[0], turns: r[2], tokens: r[3] };
    } catch (e) {
      this.logger.warn({ err: errorMessage(e), conversationId }, 'conversation window not updated');
      return { ok: false, error: errorMessage(e) };
    }
  }

  /** Drops the Redis copy (e.g. after the conversation's messages were deleted). */
  async forget(scope: TenantScope, conversationId: string): Promise<void> {
    await this.redis.del(this.key(scope, conversationId));
  }

  private apply(key: string, mode: 'append' | 'seed', seed: string[], add: string[]) {
    const { maxTurns, maxTokens, ttlSeconds } = this.config;
    return this.run(key, ttlSeconds * 1000, maxTurns, maxTokens, mode, seed.length, ...seed, ...add);
  }

  /** Enough recent messages for maxTurns turns, in the tenant's scope (RLS). */
  private async fromPostgres(scope: TenantScope, conversationId: string): Promise<WindowTurn[]> {
    if (!isUuid(conversationId)) return [];
    const take = Math.min(500, this.config.maxTurns * 4 + 4);
    const rows = await this.db.withTenant(scope, (tx) =>
      tx.message.findMany({
        where: { conversationId },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take,
        select: { id: true, author: true, text: true, inReplyToId: true },
      }),
    );
    return turnsFromMessages(rows.reverse(), rows.length === take);
  }
}
