import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prisma, type Db, type TenantScope } from '@konstruct/db';
import { appDb, createTenant, ownerClient } from '../../test/support/db.ts';
import { handoffByThreadSql } from '../src/escalation/handoff.ts';
import { seedConversation } from './memory/support.ts';

/**
 * Every message in a Slack thread asks whether the thread is a handoff's human thread: the
 * lookup must find the right handoff, stay in its tenant, and be able to use its index.
 */

let owner: pg.Client;
let db: Db;
let a: TenantScope;
let b: TenantScope;

async function handoffs(scope: TenantScope, refs: string[], at = new Date()) {
  const c = await seedConversation(owner, scope.tenantId);
  const ids: string[] = [];
  for (const [i, ref] of refs.entries()) {
    const id = randomUUID();
    await owner.query(
      `INSERT INTO handoffs (id, tenant_id, conversation_id, agent_id, reason, human_thread, created_at) VALUES ($1, $2, $3, $4, 'test', $5, $6)`,
      [id, scope.tenantId, c.conversationId, c.agentId, JSON.stringify({ ref, channel: 'C0HUMANS' }), new Date(at.getTime() + i * 1000)],
    );
    ids.push(id);
  }
  return ids;
}

beforeAll(async () => {
  owner = await ownerClient();
  db = appDb(2);
  a = await createTenant(owner, 'Threads A');
  b = await createTenant(owner, 'Threads B');
});
afterAll(async () => {
  await db?.close();
  await owner?.end();
});

describe('finding the handoff of a Slack thread', () => {
  it('finds the newest handoff of that thread, in the tenant only', async () => {
    const ref = `slack:T0:C0HUMANS:${Date.now()}.000100`;
    const others = Array.from({ length: 50 }, (_, i) => `slack:T0:C0HUMANS:${i}.000001`);
    const ids = await handoffs(a, [...others, ref, ref]);
    await handoffs(b, [`${ref}-b`]);

    const [found] = await db.tenantBatch(a, [handoffByThreadSql(a, ref)]);
    expect(found).toEqual([{ id: ids.at(-1), status: 'open', conversationId: expect.any(String), humanThread: { ref, channel: 'C0HUMANS' } }]);
    const [none] = await db.tenantBatch(a, [handoffByThreadSql(a, `${ref}-b`)]);
    expect(none).toEqual([]);
    // Tenant B asking for A's thread finds nothing: row-level security, whatever the SQL says.
    const [fromB] = await db.tenantBatch(b, [handoffByThreadSql(a, ref)]);
    expect(fromB).toEqual([]);
  });

  it('can be answered from the index on the thread ref', async () => {
    const [, plan] = await db.tenantBatch(a, [
      Prisma.sql`SELECT set_config('enable_seqscan', 'off', true)`,
      Prisma.sql`EXPLAIN ${handoffByThreadSql(a, 'slack:T0:C0HUMANS:1.000001')}`,
    ]);
    const text = plan!.map((r) => r['QUERY PLAN']).join('\n');
    expect(text).toContain('handoffs_tenant_id_human_thread_ref_idx');
  });
});
