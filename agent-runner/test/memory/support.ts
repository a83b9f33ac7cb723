import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { Redis } from 'ioredis';
import { createLogger } from '@konstruct/core';

export const logger = createLogger('memory-test', 'silent');

/** A Redis client and a key prefix no other test run shares. */
export function testRedis(): { redis: Redis; prefix: string } {
  return { redis: new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 }), prefix: `test:${randomBytes(6).toString('hex')}:` };
}

export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
}

export async function createAgent(owner: pg.Client, tenantId: string, name = 'Ava'): Promise<string> {
  const id = randomUUID();
  await owner.query('INSERT INTO agents (id, tenant_id, name) VALUES ($1, $2, $3)', [id, tenantId, name]);
  return id;
}

/** An agent with a Slack connection and one conversation with `endUser`, inserted as the owner. */
/** A Slack connection (a workspace of its own) attached to the agent, inserted as the owner. */
export async function createSlackConnection(owner: pg.Client, tenantId: string, agentId: string): Promise<string> {
  const connectionId = randomUUID();
  await owner.query(
    `INSERT INTO channel_connections (id, tenant_id, kind, external_id, agent_id) VALUES ($1, $2, 'slack', $3, $4)`,
    [connectionId, tenantId, `T${randomBytes(5).toString('hex').toUpperCase()}`, agentId],
  );
  return connectionId;
}

export async function seedConversation(owner: pg.Client, tenantId: string, endUser = 'U0ENDUSER') {
  const agentId = await createAgent(owner, tenantId);
  const connectionId = await createSlackConnection(owner, tenantId, agentId);
  const conversationId = randomUUID();
  await owner.query(
    `INSERT INTO conversations (id, tenant_id, agent_id, connection_id, channel_kind, external_ref, end_user_external_id)
     VALUES ($1, $2, $3, $4, 'slack', $5, $6)`,
    [conversationId, tenantId, agentId, connectionId, `slack:test:${conversationId}`, endUser],
  );
  return { agentId, connectionId, conversationId, endUser };
}

export interface MessageSeed {
  author: 'end_user' | 'agent' | 'human' | 'system';
  text: string;
  inReplyToId?: string;
  at: Date;
}

/** Inserts a conversation's messages in order; returns their ids. */
export async function insertMessages(owner: pg.Client, tenantId: string, conversationId: string, messages: MessageSeed[]): Promise<string[]> {
  const ids: string[] = [];
  for (const m of messages) {
    const id = randomUUID();
    const inbound = m.author === 'end_user';
    await owner.query(
      `INSERT INTO messages (id, tenant_id, conversation_id, direction, author, channel_kind, external_id, in_reply_to_id, text, delivery_state, created_at)
       VALUES ($1, $2, $3, $4, $5, 'slack', $6, $7, $8, $9, $10)`,
      [id, tenantId, conversationId, inbound ? 'inbound' : 'outbound', m.author, inbound ? `ev-${id}` : null, m.inReplyToId ?? null, m.text, inbound ? 'received' : 'sent', m.at.toISOString()],
    );
    ids.push(id);
  }
  return ids;
}
