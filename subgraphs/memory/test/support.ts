import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { LOCAL_EMBEDDING_MODEL, embedText, toVectorLiteral } from '@konstruct/core';

export async function createAgent(owner: pg.Client, tenantId: string, name = 'Agent'): Promise<string> {
  const id = randomUUID();
  await owner.query('INSERT INTO agents (id, tenant_id, name) VALUES ($1, $2, $3)', [id, tenantId, name]);
  return id;
}

export interface MemorySeed {
  tenantId: string;
  agentId: string;
  text: string;
  endUserExternalId?: string | null;
  createdAt?: Date;
  metadata?: Record<string, unknown>;
  /** Defaults to the built-in embedder's vector of `text`, as search will compute it. */
  embedding?: number[];
  embeddingModel?: string;
}

/**
 * Inserts a memory as the owner, embedded by the same local embedder search uses. The
 * vector goes in as pgvector's text form cast with `$n::vector`.
 */
export async function insertMemory(owner: pg.Client, m: MemorySeed): Promise<{ id: string } & Required<Pick<MemorySeed, 'text' | 'agentId'>>> {
  const id = randomUUID();
  await owner.query(
    `INSERT INTO memory_items (id, tenant_id, agent_id, end_user_external_id, text, embedding, embedding_model, metadata, created_at)
     VALUES ($1, $2, $3, $4, $5, $6::vector, $7, $8::jsonb, $9)`,
    [
      id,
      m.tenantId,
      m.agentId,
      m.endUserExternalId ?? null,
      m.text,
      toVectorLiteral(m.embedding ?? embedText(m.text)),
      m.embeddingModel ?? LOCAL_EMBEDDING_MODEL,
      JSON.stringify(m.metadata ?? {}),
      (m.createdAt ?? new Date()).toISOString(),
    ],
  );
  return { id, text: m.text, agentId: m.agentId };
}
