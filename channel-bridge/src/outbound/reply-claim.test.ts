import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { tenantScope, type Db } from '@konstruct/db';
import { appDb, databaseUrl, ownerClient } from '../../../test/support/db.ts';
import { seedSlackTenant, type SlackTenant } from '../../../test/support/platform.ts';
import { ReplyClaims } from './reply-claim.ts';

describe('ReplyClaims (real Postgres)', () => {
  let db: Db;
  let owner: pg.Client;
  let tenant: SlackTenant;
  let conversationId: string;

  beforeAll(async () => {
    db = appDb();
    owner = await ownerClient();
    tenant = await seedSlackTenant(databaseUrl(), randomBytes(32).toString('base64'));
    conversationId = randomUUID();
    await owner.query(
      `INSERT INTO conversations (id, tenant_id, agent_id, connection_id, channel_kind, external_ref, end_user_external_id)
       VALUES ($1, $2, $3, $4, 'slack', $5, 'U1')`,
      [conversationId, tenant.tenantId, tenant.agentId, tenant.connectionId, `slack:${conversationId}`],
    );
  });
  afterAll(async () => {
    await owner?.end();
    await db?.close();
  });

  async function pendingReply(): Promise<string> {
    const id = randomUUID();
    await owner.query(
      `INSERT INTO messages (id, tenant_id, conversation_id, direction, author, channel_kind, text, delivery_state)
       VALUES ($1, $2, $3, 'outbound', 'agent', 'slack', 'hi', 'pending')`,
      [id, tenant.tenantId, conversationId],
    );
    return id;
  }
  const row = async (id: string) =>
    (await owner.query('SELECT delivery_state, parts_sent, delivery_attempted_at, provider_message_id, delivery_error FROM messages WHERE id = $1', [id]))
      .rows[0];

  it('lets exactly one of two concurrent deliveries claim a reply', async () => {
    const claims = new ReplyClaims(db, 60_000);
    const id = await pendingReply();
    const scope = tenantScope(tenant.tenantId);
    const results = await Promise.all([claims.claim(scope, id), claims.claim(scope, id)]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    const loser = results.find((r) => !r.ok)!;
    expect(loser).toMatchObject({ ok: false, reason: 'busy' });
    expect((await row(id)).delivery_state).toBe('sending');
  });

  it('keeps a fresh claim, hands a stale one over as resumed, and refuses the stale holder afterwards', async () => {
    const claims = new ReplyClaims(db, 300);
    const id = await pendingReply();
    const scope = tenantScope(tenant.tenantId);
    const first = await claims.claim(scope, id);
    if (!first.ok) throw new Error('first claim failed');
    expect(first.resumed).toBe(false);
    expect(await claims.progress(first.held, 1, '1700000000.000100')).toBe(true);

    const early = await claims.claim(scope, id);
    expect(early).toMatchObject({ ok: false, reason: 'busy' });
    if (early.ok || early.reason !== 'busy') throw new Error('unreachable');
    expect(early.retryInMs).toBeGreaterThan(0);
    expect(early.retryInMs).toBeLessThanOrEqual(300);

    await new Promise((r) => setTimeout(r, 350));
    const second = await claims.claim(scope, id);
    if (!second.ok) throw new Error('second claim failed');
    expect(second.resumed).toBe(true);
    expect(second.row.partsSent).toBe(1);
    expect(second.row.providerMessageId).toBe('1700000000.000100');

    // The first holder overran its lease: whatever it tries now changes nothing.
    expect(await claims.release(first.held)).toBe(false);
    expect(await claims.complete(first.held, 2, null)).toBe(false);
    expect((await row(id)).delivery_state).toBe('sending');

    expect(await claims.complete(second.held, 2, null)).toBe(true);
    const done = await row(id);
    expect(done).toMatchObject({ delivery_state: 'sent', parts_sent: 2, provider_message_id: '1700000000.000100', delivery_error: null });
    expect(await claims.claim(scope, id)).toEqual({ ok: false, reason: 'done', state: 'sent' });
  });

  it('a released claim is free at once and resumes with a reconcile; failed is final', async () => {
    const claims = new ReplyClaims(db, 60_000);
    const id = await pendingReply();
    const scope = tenantScope(tenant.tenantId);
    const first = await claims.claim(scope, id);
    if (!first.ok) throw new Error('first claim failed');
    expect(await claims.release(first.held, 'slack: HTTP 503 (attempt 1, retrying)')).toBe(true);
    expect(await row(id)).toMatchObject({ delivery_state: 'sending', delivery_attempted_at: null, delivery_error: 'slack: HTTP 503 (attempt 1, retrying)' });

    const second = await claims.claim(scope, id);
    if (!second.ok) throw new Error('second claim failed');
    expect(second.resumed).toBe(true);
    expect(await claims.fail(second.held, 'slack: is_archived')).toBe(true);
    expect(await claims.claim(scope, id)).toEqual({ ok: false, reason: 'done', state: 'failed' });
    expect(await claims.claim(scope, randomUUID())).toEqual({ ok: false, reason: 'missing' });
  });
});
