import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { KonstructMessageV1, KonstructReplyV1 } from '@konstruct/core';
import { localEmbedder } from '@konstruct/core';
import type { Db, TenantScope } from '@konstruct/db';
import { appDb, createTenant, ownerClient } from '../../test/support/db.ts';
import { runTurn, type TurnDeps } from '../src/loop/turn.ts';
import { AgentCache } from '../src/loop/agent-cache.ts';
import { ConversationWindow } from '../src/memory/window.ts';
import { LongTermMemory } from '../src/memory/long-term.ts';
import { createTurnMemory } from '../src/memory/turn-memory.ts';
import { BudgetLedger } from '../src/budget/ledger.ts';
import type { ChatModel, ChatResult } from '../src/llm/types.ts';
import { createAgent, createSlackConnection, deleteKeys, logger, testRedis } from './memory/support.ts';

/**
 * What a turn costs the database on its common path, counted: every transaction that is not a
 * one-message batch (`withTenant`, held across round trips) is a regression on the embedded
 * database, which runs one transaction at a time. A new conversation starts its window
 * without reading Postgres; a later turn finds it in Redis; only a lost window is rebuilt.
 */

let owner: pg.Client;
let db: Db;
let scope: TenantScope;
let connectionId: string;
const { redis, prefix } = testRedis();

beforeAll(async () => {
  owner = await ownerClient();
  db = appDb(3);
  scope = await createTenant(owner, 'Round trips');
  const agentId = await createAgent(owner, scope.tenantId);
  connectionId = await createSlackConnection(owner, scope.tenantId, agentId);
});
afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
  await db?.close();
  await owner?.end();
});

const model: ChatModel = {
  async complete(req): Promise<ChatResult> {
    return {
      provider: 'openai',
      model: 'gpt-4o-mini',
      text: `Echo: ${String(req.messages.at(-1)!.content)}`,
      toolCalls: [],
      finishReason: 'stop',
      usage: { inputTokens: 10, outputTokens: 3, cacheReadTokens: 0, cacheWriteTokens: 0 },
      latencyMs: 1,
      costUsdMicros: 1n,
    };
  },
};

function deps(published: KonstructReplyV1[]): TurnDeps {
  const window = new ConversationWindow(redis, db, { keyPrefix: prefix, maxTurns: 20, maxTokens: 100_000, ttlSeconds: 600 }, logger);
  return {
    db,
    agents: new AgentCache(db),
    model,
    requestModel: 'gpt-4o-mini',
    memory: createTurnMemory({ window, longTerm: new LongTermMemory({ db, embedder: localEmbedder, logger }), recallK: 5, logger }),
    budgets: { ledger: new BudgetLedger({ db, logger }), maxTokens: 256 },
    historyMessages: 10,
    publishReply: async (r) => void published.push(r),
    logger,
  };
}

function message(ref: string, text: string): KonstructMessageV1 {
  return {
    v: 1,
    id: randomUUID(),
    tenantId: scope.tenantId,
    channel: { kind: 'slack', connectionId, address: 'C0TRIPS' },
    conversation: { ref },
    externalId: `C0TRIPS:${Date.now()}.${randomBytes(3).toString('hex')}`,
    sender: { externalId: 'U0TRIPS' },
    text,
    attachments: [],
    thread: { replyTo: '1.0', inThread: false },
    receivedAt: new Date().toISOString(),
  };
}

describe('a turn on its common path', () => {
  it('uses no interactive transaction: new conversation, next turn; a lost window is rebuilt', async () => {
    const published: KonstructReplyV1[] = [];
    const d = deps(published);
    await d.agents.forConnection(scope.tenantId, connectionId); // the agent comes from its cache
    const interactive = vi.spyOn(db, 'withTenant');
    const batches = vi.spyOn(db, 'tenantBatch');
    const ref = `slack:T:C0TRIPS:${randomUUID()}`;
    try {
      expect(await runTurn(message(ref, 'hello there'), d)).toBe('ack');
      expect(published.map((r) => r.text)).toEqual(['Echo: hello there']);
      expect(interactive).not.toHaveBeenCalled();
      // Opening, reply, settle.
      expect(batches).toHaveBeenCalledTimes(3);

      expect(await runTurn(message(ref, 'and again'), d)).toBe('ack');
      expect(published.at(-1)!.text).toBe('Echo: and again');
      expect(interactive).not.toHaveBeenCalled();

      // Redis lost the window: the next turn rebuilds it from Postgres, and the model sees both turns.
      await deleteKeys(redis, prefix);
      expect(await runTurn(message(ref, 'third'), d)).toBe('ack');
      expect(interactive).toHaveBeenCalled();
    } finally {
      interactive.mockRestore();
      batches.mockRestore();
    }
  });
});
