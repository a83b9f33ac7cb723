import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { simpleQuery } from '../support/simple-query.ts';
import { OwnerClient, databaseUrl } from '../support/db.ts';
import { eventually } from '../support/eventually.ts';
import { seedSlackTenant, startPlatform, type Platform, type SlackTenant } from '../support/platform.ts';
import { mention, waitForThreadPosts } from '../support/runner-turns.ts';
import { Redis } from 'ioredis';
import { tenantEventsChannel } from '@konstruct/core';

/**
 * Budgets inside the turn, end to end: each model call is reserved before and settled after
 * (the usage record comes from the settlement); once the agent's budget is used up the agent's
 * policy applies — a polite refusal, or a handoff to a person — and the block is audited.
 */
describe('runner: budgets in a turn', () => {
  let p: Platform;
  let owner: pg.Client;

  beforeAll(async () => {
    p = await startPlatform(databaseUrl(), {
      runnerEnv: { LLM_MODEL_GROUPS: JSON.stringify({ default: ['openai:gpt-4o-mini'], cheap: ['openai:gpt-4o-mini'] }) },
    });
    owner = new OwnerClient({ connectionString: databaseUrl() });
    await owner.connect();
  });
  afterAll(async () => {
    await owner?.end();
    await p?.close();
  });

  async function tenantWithBudget(
    policy: 'refuse' | 'handoff' | 'cheaper_model',
    limit: number,
    unit: 'tokens' | 'usd_micros' = 'tokens',
  ): Promise<SlackTenant> {
    const t = await seedSlackTenant(databaseUrl(), p.masterKey, { agentName: 'Ava' });
    await simpleQuery(owner, 'UPDATE agents SET on_budget_exhausted = $2 WHERE id = $1', [t.agentId, policy]);
    await simpleQuery(owner, `INSERT INTO budgets (id, tenant_id, agent_id, period, unit, "limit", updated_at) VALUES ($1, $2, $3, 'day', $5, $4, now())`, [
      randomUUID(),
      t.tenantId,
      t.agentId,
      limit,
      unit,
    ]);
    return t;
  }

  it('answers while the budget has room, then refuses politely without calling the model, and audits the block', async () => {
    const t = await tenantWithBudget('refuse', 30);
    const sub = new Redis('redis://127.0.0.1:6379');
    const events: { type: string; inputTokens?: number; model?: string }[] = [];
    sub.on('message', (_channel, body: string) => events.push(JSON.parse(body)));
    await sub.subscribe(tenantEventsChannel(p.redisKeyPrefix, t.tenantId));
    const first = await mention(p, t, 'tell me about your sourdough');
    const [answer] = await waitForThreadPosts(p, first.threadTs, 1);
    expect(answer!.text).toBe('Echo: tell me about your sourdough');
    // The settled call published one usage event for the live usage subscription.
    await eventually(() => expect(events.filter((e) => e.type === 'usage')).toHaveLength(1));
    expect(events.find((e) => e.type === 'usage')).toMatchObject({ model: 'gpt-4o-mini', inputTokens: expect.any(Number) });
    sub.disconnect();
    // Settled: the usage record is the ledger's, and the window's spend is the call's usage.
    const usage = await eventually(async () => {
      const { rows } = await simpleQuery(owner, 'SELECT input_tokens, output_tokens FROM usage_records WHERE tenant_id = $1', [t.tenantId]);
      expect(rows).toHaveLength(1);
      return rows[0];
    });
    const window = await simpleQuery(owner, 'SELECT spent, reserved FROM budget_windows w JOIN budgets b ON b.id = w.budget_id WHERE b.tenant_id = $1', [t.tenantId]);
    expect(Number(window.rows[0].spent)).toBe(usage.input_tokens + usage.output_tokens);
    expect(Number(window.rows[0].reserved)).toBe(0);

    const llmBefore = p.openai.chatRequests().length;
    const second = await mention(p, t, 'and your rye bread?');
    const [refusal] = await waitForThreadPosts(p, second.threadTs, 1);
    expect(refusal!.text).toMatch(/^Sorry, Ava has reached its usage limit for today/);
    expect(p.openai.chatRequests().length).toBe(llmBefore);
    const blocked = await simpleQuery(owner, `SELECT data FROM audit_events WHERE tenant_id = $1 AND action = 'budget.blocked'`, [t.tenantId]);
    expect(blocked.rows).toHaveLength(1);
    expect(blocked.rows[0].data).toMatchObject({ scope: 'agent', unit: 'tokens', period: 'day', reason: 'no_room', action: 'refuse', limit: '30' });
    // No LLM call was made or audited for the refused message.
    const calls = await simpleQuery(owner, `SELECT count(*)::int AS n FROM audit_events WHERE tenant_id = $1 AND action = 'llm.call'`, [t.tenantId]);
    expect(calls.rows[0].n).toBe(1);
    const reply = await simpleQuery(owner, `SELECT author FROM messages WHERE tenant_id = $1 AND direction = 'outbound' ORDER BY created_at`, [t.tenantId]);
    expect(reply.rows.map((r) => r.author)).toEqual(['agent', 'system']);
  });

  it('hands the conversation to a person when the policy says so and a budget rule names the channel', async () => {
    const t = await tenantWithBudget('handoff', 1);
    await simpleQuery(owner, `INSERT INTO escalation_rules (id, tenant_id, agent_id, trigger, target)
       VALUES ($1, $2, $3, 'budget_exhausted', json_build_object('kind', 'slack', 'connectionId', $4, 'channel', 'C0BUDGETHUMANS'))`, [
      randomUUID(),
      t.tenantId,
      t.agentId,
      t.connectionId,
    ]);
    const first = await mention(p, t, 'first question');
    await waitForThreadPosts(p, first.threadTs, 1);
    const second = await mention(p, t, 'second question');
    const [notice] = await waitForThreadPosts(p, second.threadTs, 1);
    expect(notice!.text).toMatch(/asked a colleague to take over/);
    await eventually(() => expect(p.slack.posts().some((x) => x.channel === 'C0BUDGETHUMANS' && x.text?.includes('second question'))).toBe(true));
    const h = await simpleQuery(owner, 'SELECT reason, status FROM handoffs WHERE tenant_id = $1', [t.tenantId]);
    expect(h.rows).toHaveLength(1);
    expect(h.rows[0].reason).toMatch(/^budget exhausted: the agent's daily token budget is used up/);
    const blocked = await simpleQuery(owner, `SELECT data FROM audit_events WHERE tenant_id = $1 AND action = 'budget.blocked'`, [t.tenantId]);
    expect(blocked.rows[0].data.action).toBe('handoff');
  });

  it('falls back to a cheaper model when the preferred one does not fit the money budget', async () => {
    // gpt-4o's bound (1 024 output tokens at $10/M) is over 10 000 micro-dollars; gpt-4o-mini's is under 1 000.
    const t = await tenantWithBudget('cheaper_model', 5_000, 'usd_micros');
    await simpleQuery(owner, `UPDATE agents SET model_preferences = '{"models":["openai:gpt-4o"]}' WHERE id = $1`, [t.agentId]);
    const before = p.openai.chatRequests().length;
    const sent = await mention(p, t, 'what is in the lemon tart?');
    const [answer] = await waitForThreadPosts(p, sent.threadTs, 1);
    expect(answer!.text).toBe('Echo: what is in the lemon tart?');
    expect(p.openai.chatRequests().slice(before).map((r) => r.model)).toEqual(['gpt-4o-mini']);
    const blocked = await simpleQuery(owner, `SELECT data FROM audit_events WHERE tenant_id = $1 AND action = 'budget.blocked'`, [t.tenantId]);
    expect(blocked.rows).toHaveLength(1);
    expect(blocked.rows[0].data).toMatchObject({ unit: 'usd_micros', reason: 'does_not_fit', model: 'openai:gpt-4o', action: 'cheaper_model', fallbackModel: 'openai:gpt-4o-mini' });
    const usage = await simpleQuery(owner, 'SELECT model FROM usage_records WHERE tenant_id = $1', [t.tenantId]);
    expect(usage.rows.map((r) => r.model)).toEqual(['gpt-4o-mini']);
  });
});
