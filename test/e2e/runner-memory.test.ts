import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { Redis } from 'ioredis';
import { simpleQuery } from '../support/simple-query.ts';
import { OwnerClient, databaseUrl } from '../support/db.ts';
import { eventually } from '../support/eventually.ts';
import { seedSlackTenant, startPlatform, type Platform, type SlackTenant } from '../support/platform.ts';
import { mention, waitForThreadPosts } from '../support/runner-turns.ts';
import type { ChatRequest } from '../fakes/index.ts';

/**
 * Memory inside the turn, end to end: the conversation window lives in Redis under the
 * tenant's namespace (tool calls kept with their results) and is rebuilt from Postgres when
 * Redis has lost it; what the customer says that is worth keeping is remembered and recalled
 * into the prompt of a later conversation.
 */
describe('runner: memory in a turn', () => {
  let p: Platform;
  let t: SlackTenant;
  let owner: pg.Client;
  let redis: Redis;

  beforeAll(async () => {
    p = await startPlatform(databaseUrl());
    t = await seedSlackTenant(databaseUrl(), p.masterKey, { agentName: 'Ava' });
    owner = new OwnerClient({ connectionString: databaseUrl() });
    await owner.connect();
    redis = new Redis('redis://127.0.0.1:6379');
    const toolId = randomUUID();
    await simpleQuery(owner, 
      `INSERT INTO tool_definitions (id, tenant_id, name, description, kind, updated_at) VALUES ($1, $2, 'current_time', '', 'builtin', now())`,
      [toolId, t.tenantId],
    );
    await simpleQuery(owner, 'INSERT INTO agent_tools (tenant_id, agent_id, tool_id) VALUES ($1, $2, $3)', [t.tenantId, t.agentId, toolId]);
  });
  afterAll(async () => {
    p.openai.respond();
    redis?.disconnect();
    await owner?.end();
    await p?.close();
  });

  const conversationOf = async (threadTs: string) =>
    (await simpleQuery(owner, `SELECT id FROM conversations WHERE tenant_id = $1 AND external_ref LIKE '%:' || $2`, [t.tenantId, threadTs])).rows[0]
      .id as string;
  const windowKey = (conversationId: string) => `${p.redisKeyPrefix}t:${t.tenantId}:win:${conversationId}`;
  const lastRequest = () => p.openai.chatRequests().at(-1)!;

  it('keeps the conversation in Redis, tool calls with their results, and rebuilds it from Postgres when lost', async () => {
    p.openai.respond((req: ChatRequest) => {
      const last = req.messages.at(-1)!;
      if (String(last.content).includes('time') && last.role === 'user') {
        return { toolCalls: [{ id: 'call_mem_time', name: 'current_time', arguments: {} }] };
      }
      if (last.role === 'tool') return { content: 'It is noon.' };
      return { content: `Echo: ${String(last.content)}` };
    });
    const first = await mention(p, t, 'what time is it?');
    await waitForThreadPosts(p, first.threadTs, 1);
    const conversationId = await conversationOf(first.threadTs);

    // The window holds the whole turn: question, tool call, tool result, answer.
    const stored = await eventually(async () => {
      const list = await redis.lrange(windowKey(conversationId), 0, -1);
      expect(list).toHaveLength(1);
      return list;
    });
    expect(stored[0]).toContain('call_mem_time');
    expect(stored[0]).toContain('It is noon.');

    await mention(p, t, 'and tomorrow?', { threadTs: first.threadTs });
    await waitForThreadPosts(p, first.threadTs, 2);
    const second = lastRequest();
    expect(second.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'assistant', 'user']);
    expect(second.messages[2]!.tool_calls![0]!.id).toBe('call_mem_time');
    expect(second.messages[3]!.tool_call_id).toBe('call_mem_time');
    expect(second.messages.at(-1)!.content).toBe('and tomorrow?');

    // Redis loses the window: the next turn rebuilds it from the messages in Postgres (text only).
    await eventually(async () => expect(await redis.llen(windowKey(conversationId))).toBe(2));
    await redis.del(windowKey(conversationId));
    await mention(p, t, 'thanks', { threadTs: first.threadTs });
    await waitForThreadPosts(p, first.threadTs, 3);
    const third = lastRequest();
    expect(third.messages.map((m) => [m.role, String(m.content ?? '')])).toEqual([
      ['system', expect.any(String)],
      ['user', 'what time is it?'],
      ['assistant', 'It is noon.'],
      ['user', 'and tomorrow?'],
      ['assistant', 'Echo: and tomorrow?'],
      ['user', 'thanks'],
    ]);
    await eventually(async () => expect(await redis.llen(windowKey(conversationId))).toBe(3));
  });

  it('remembers what the customer tells it and recalls it in a later conversation', async () => {
    p.openai.respond();
    const first = await mention(p, t, 'I am allergic to peanuts.', { user: 'U0LENA' });
    await waitForThreadPosts(p, first.threadTs, 1);
    await eventually(async () => {
      const { rows } = await simpleQuery(owner, 'SELECT text, end_user_external_id FROM memory_items WHERE tenant_id = $1', [t.tenantId]);
      expect(rows.map((r) => r.text)).toContain('I am allergic to peanuts.');
    });

    const later = await mention(p, t, 'can you recommend a cake with peanuts?', { user: 'U0LENA' });
    await waitForThreadPosts(p, later.threadTs, 1);
    const system = String(lastRequest().messages[0]!.content);
    expect(system).toContain('What you remember from earlier conversations');
    expect(system).toContain('I am allergic to peanuts.');
    // A new conversation: no window from the other thread.
    expect(lastRequest().messages).toHaveLength(2);

    // Another customer of the same tenant does not get Lena's memories.
    const other = await mention(p, t, 'can you recommend a cake with peanuts?', { user: 'U0OTHER' });
    await waitForThreadPosts(p, other.threadTs, 1);
    expect(String(lastRequest().messages[0]!.content)).not.toContain('peanuts');
  });
});
