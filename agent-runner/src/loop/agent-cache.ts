import { tenantScope, type Db } from '@konstruct/db';
import type { AgentProfile } from './prompt.ts';

export interface CachedAgent extends AgentProfile {
  id: string;
  modelPreferences: unknown;
  onBudgetExhausted: 'refuse' | 'cheaper_model' | 'handoff';
}

/**
 * Which agent answers on a channel connection, and how it is configured. Read on every message
 * but changed rarely, so it is cached for a few seconds: an edit in the portal takes effect
 * within `ttlMs`.
 */
export class AgentCache {
  private entries = new Map<string, { value: CachedAgent | null; expires: number }>();

  constructor(
    private readonly db: Db,
    private readonly ttlMs = 10_000,
  ) {}

  async forConnection(tenantId: string, connectionId: string): Promise<CachedAgent | null> {
    const key = `${tenantId}:${connectionId}`;
    const hit = this.entries.get(key);
    if (hit && hit.expires > Date.now()) return hit.value;
    const connection = await this.db.withTenant(tenantScope(tenantId), (tx) =>
      tx.channelConnection.findUnique({
        where: { id: connectionId },
        select: {
          agent: {
            select: {
              id: true,
              name: true,
              role: true,
              persona: true,
              jobDescription: true,
              statementOfWork: true,
              systemPrompt: true,
              businessFunctions: true,
              modelPreferences: true,
              onBudgetExhausted: true,
            },
          },
        },
      }),
    );
    const value = connection?.agent ?? null;
    if (this.entries.size > 10_000) this.entries.clear();
    this.entries.set(key, { value, expires: Date.now() + this.ttlMs });
    return value;
  }
}
