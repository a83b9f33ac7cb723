import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { simpleQuery } from '../support/simple-query.ts';
import { OwnerClient, databaseUrl } from '../support/db.ts';
import { eventually } from '../support/eventually.ts';
import { seedSlackTenant, startPlatform, type Platform, type SlackTenant } from '../support/platform.ts';
import { mention, waitForThreadPosts } from '../support/runner-turns.ts';

/**
 * The LLM router inside the turn, end to end: Slack → bridge → RabbitMQ → runner → router over
 * the official SDKs against fake OpenAI (first in the chain) and fake Anthropic (fallback) →
 * reply in Slack, with one audit event per attempt and the switch audited.
 */
describe('runner: LLM fallback in a turn', () => {
  let p: Platform;
  let t: SlackTenant;
  let owner: pg.Client;

  beforeAll(async () => {
    p = await startPlatform(databaseUrl(), {
      anthropic: true,
      // One retry, quickly; no cooldown so each test starts from OpenAI again; a short per-try timeout.
      runnerEnv: { LLM_MAX_RETRIES: '1', LLM_RETRY_BASE_MS: '20', LLM_RETRY_MAX_MS: '50', LLM_COOLDOWN_FAILURES: '1000', LLM_TIMEOUT_MS: '700' },
    });
    t = await seedSlackTenant(databaseUrl(), p.masterKey, { agentName: 'Ava' });
    owner = new OwnerClient({ connectionString: databaseUrl() });
    await owner.connect();
  });
  afterAll(async () => {
    p.openai.respond();
    p.anthropic?.respond();
    await owner?.end();
    await p?.close();
  });

  async function auditsFor(messageTs: string) {
    const { rows } = await simpleQuery(owner, 
      `SELECT a.action, a.data FROM audit_events a JOIN messages m ON m.id::text = a.subject_id
        WHERE a.tenant_id = $1 AND m.external_id LIKE '%' || $2 || '%' AND a.action LIKE 'llm.%' ORDER BY a.seq`,
      [t.tenantId, messageTs],
    );
    return rows as { action: string; data: Record<string, any> }[];
  }

  it('falls back to Anthropic when OpenAI returns 500, and audits every attempt and the switch', async () => {
    p.openai.respond(() => ({ status: 500, error: { message: 'The server had an error', type: 'server_error' } }));
    const openaiBefore = p.openai.chatRequests().length;
    const sent = await mention(p, t, 'do you bake rye bread?');
    const [post] = await waitForThreadPosts(p, sent.threadTs, 1);
    expect(post!.text).toBe('Echo: do you bake rye bread?');
    // The first try and its retry went to OpenAI, then Anthropic answered.
    expect(p.openai.chatRequests().length - openaiBefore).toBe(2);
    expect(p.anthropic!.messageRequests().at(-1)!.messages.at(-1)).toMatchObject({ role: 'user' });

    const audits = await eventually(async () => {
      const rows = await auditsFor(sent.ts);
      expect(rows.length).toBe(4);
      return rows;
    });
    expect(audits.map((a) => [a.action, a.data.provider ?? null, a.data.outcome ?? null])).toEqual([
      ['llm.call', 'openai', 'error'],
      ['llm.call', 'openai', 'error'],
      ['llm.call', 'anthropic', 'ok'],
      ['llm.fallback', null, null],
    ]);
    expect(audits[0]!.data).toMatchObject({ errorClass: 'server_error', status: 500, next: 'retry' });
    expect(audits[1]!.data).toMatchObject({ errorClass: 'server_error', next: 'fallback' });
    expect(audits[2]!.data.inputTokens).toBeGreaterThan(0);
    expect(audits[2]!.data.outputTokens).toBeGreaterThan(0);
    expect(audits[2]!.data.latencyMs).toBeGreaterThanOrEqual(0);
    expect(audits[2]!.data.costUsdMicros).toBeGreaterThan(0);
    expect(audits[3]!.data).toMatchObject({ from: 'openai:gpt-4o-mini', to: 'anthropic:claude-3-5-haiku-latest', reasons: ['server_error'] });

    // Usage for the call that answered, and none for the failures.
    const usage = await simpleQuery(owner, 
      `SELECT u.provider, u.input_tokens FROM usage_records u JOIN conversations c ON c.id = u.conversation_id
        WHERE u.tenant_id = $1 AND c.external_ref LIKE '%:' || $2`,
      [t.tenantId, sent.threadTs],
    );
    expect(usage.rows.map((r) => r.provider)).toEqual(['anthropic']);
  });

  it('falls back when OpenAI times out', async () => {
    p.openai.respond(() => ({ delayMs: 3_000, content: 'too late' }));
    const sent = await mention(p, t, 'are you open on sunday?');
    const [post] = await waitForThreadPosts(p, sent.threadTs, 1, 20_000);
    expect(post!.text).toBe('Echo: are you open on sunday?');
    const audits = await eventually(async () => {
      const rows = await auditsFor(sent.ts);
      expect(rows.some((r) => r.action === 'llm.fallback')).toBe(true);
      return rows;
    });
    const openaiTries = audits.filter((a) => a.action === 'llm.call' && a.data.provider === 'openai');
    expect(openaiTries.length).toBeGreaterThanOrEqual(1);
    expect(openaiTries.every((a) => a.data.outcome === 'error' && a.data.errorClass === 'timeout')).toBe(true);
    expect(audits.find((a) => a.action === 'llm.fallback')!.data.reasons).toEqual(['timeout']);
  }, 30_000);

  it('tells the user politely when every provider is down, and audits why', async () => {
    p.openai.respond(() => ({ status: 503, error: { message: 'overloaded', type: 'server_error' } }));
    p.anthropic!.respond(() => ({ status: 529, error: { type: 'overloaded_error', message: 'Overloaded' } }));
    try {
      const sent = await mention(p, t, 'anyone there?');
      const [post] = await waitForThreadPosts(p, sent.threadTs, 1);
      expect(post!.text).toMatch(/^Sorry, Ava is unavailable right now/);
      const audits = await eventually(async () => {
        const rows = await auditsFor(sent.ts);
        expect(rows.some((r) => r.data.outcome === 'unavailable')).toBe(true);
        return rows;
      });
      expect(new Set(audits.filter((a) => a.data.outcome === 'error').map((a) => a.data.provider))).toEqual(new Set(['openai', 'anthropic']));
      expect(audits.some((a) => a.action === 'llm.fallback')).toBe(false);
      expect(audits.at(-1)!.data.reason).toMatch(/every deployment failed: openai:gpt-4o-mini .*anthropic:claude-3-5-haiku-latest/);
      const reply = await simpleQuery(owner, 
        `SELECT m.author FROM messages m JOIN conversations c ON c.id = m.conversation_id
          WHERE m.tenant_id = $1 AND c.external_ref LIKE '%:' || $2 AND m.direction = 'outbound'`,
        [t.tenantId, sent.threadTs],
      );
      expect(reply.rows.map((r) => r.author)).toEqual(['system']);
    } finally {
      p.openai.respond();
      p.anthropic!.respond();
    }
  });
});
