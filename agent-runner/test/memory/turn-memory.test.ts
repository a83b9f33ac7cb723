import type pg from 'pg';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localEmbedder } from '@konstruct/core';
import type { Db, TenantScope } from '@konstruct/db';
import { appDb, createTenant, ownerClient } from '../../../test/support/db.ts';
import { ConversationWindow } from '../../src/memory/window.ts';
import { LongTermMemory } from '../../src/memory/long-term.ts';
import { createTurnMemory, type TurnMemory } from '../../src/memory/turn-memory.ts';
import { deleteKeys, insertMessages, logger, seedConversation, testRedis } from './support.ts';

/**
 * Two turns through the memory seam the turn loop calls (before the model, after the reply),
 * against real Redis and the embedded Postgres: the second turn sees the first turn's tool
 * call in its history and the fact the user stated in its recalled memories.
 */

let owner: pg.Client;
let db: Db;
let redis: Redis;
let prefix: string;
let T: TenantScope;
let memory: TurnMemory;

beforeAll(async () => {
  owner = await ownerClient();
  db = appDb(4);
  ({ redis, prefix } = testRedis());
  T = await createTenant(owner, 'Turn memory');
  memory = createTurnMemory({
    window: new ConversationWindow(redis, db, { keyPrefix: prefix, maxTurns: 10, maxTokens: 4_000, ttlSeconds: 600 }, logger),
    longTerm: new LongTermMemory({ db, embedder: localEmbedder, logger }),
    recallK: 5,
    logger,
  });
});

afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
  await db?.close();
  await owner?.end();
});

describe('turn memory', () => {
  it('gives the next turn the previous turn (tool call included) and what the user said about themselves', async () => {
    const c = await seedConversation(owner, T.tenantId, 'U42');
    const base = { agentId: c.agentId, conversationId: c.conversationId, endUserExternalId: 'U42', newConversation: false };

    // Turn 1: the inbound message is recorded first, as runTurn does.
    const text1 = 'Hi! I am allergic to peanuts. Is order #A77 shipped?';
    const [m1] = await insertMessages(owner, T.tenantId, c.conversationId, [{ author: 'end_user', text: text1, at: new Date(Date.UTC(2026, 10, 1, 9)) }]);
    const before1 = await memory.before(T, { ...base, inboundMessageId: m1!, userText: text1 });
    expect(before1).toEqual({ history: [], historySource: 'postgres', memoryPrompt: null, recalled: [] });

    const reply1 = 'Order #A77 shipped yesterday.';
    await insertMessages(owner, T.tenantId, c.conversationId, [{ author: 'agent', text: reply1, inReplyToId: m1, at: new Date(Date.UTC(2026, 10, 1, 9, 1)) }]);
    const entries1 = [
      { role: 'user' as const, content: text1 },
      { role: 'assistant' as const, content: '', toolCalls: [{ id: 'call_1', name: 'order_status', arguments: { order: 'A77' } }] },
      { role: 'tool' as const, toolCallId: 'call_1', name: 'order_status', content: '{"status":"shipped"}' },
      { role: 'assistant' as const, content: reply1 },
    ];
    const after1 = await memory.after(T, { ...base, inboundMessageId: m1!, userText: text1, entries: entries1 });
    expect(after1.windowUpdated).toBe(true);
    expect(after1.remembered?.stored.map((s) => s.text)).toEqual(['I am allergic to peanuts.']);

    // Turn 2.
    const text2 = 'Can you suggest a snack? Nothing with peanuts please.';
    const [m2] = await insertMessages(owner, T.tenantId, c.conversationId, [{ author: 'end_user', text: text2, at: new Date(Date.UTC(2026, 10, 2, 9)) }]);
    const before2 = await memory.before(T, { ...base, inboundMessageId: m2!, userText: text2 });
    expect(before2.historySource).toBe('redis');
    expect(before2.history).toEqual(entries1);
    expect(before2.recalled.map((r) => r.text)).toEqual(['I am allergic to peanuts.']);
    expect(before2.memoryPrompt).toContain('"I am allergic to peanuts."');
  });

  it('with recall off, only the window is read', async () => {
    const off = createTurnMemory({
      window: new ConversationWindow(redis, db, { keyPrefix: prefix, maxTurns: 10, maxTokens: 4_000, ttlSeconds: 600 }, logger),
      longTerm: new LongTermMemory({ db, embedder: { ...localEmbedder, embed: () => Promise.reject(new Error('must not be called')) }, logger }),
      recallK: 0,
      logger,
    });
    const c = await seedConversation(owner, T.tenantId, 'U43');
    const r = await off.before(T, { agentId: c.agentId, conversationId: c.conversationId, endUserExternalId: 'U43', inboundMessageId: 'none', userText: 'I prefer tea.', newConversation: false });
    expect(r).toEqual({ history: [], historySource: 'postgres', memoryPrompt: null, recalled: [] });
  });
});
