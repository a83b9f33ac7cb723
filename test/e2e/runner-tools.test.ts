import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { simpleQuery } from '../support/simple-query.ts';
import { OwnerClient, databaseUrl } from '../support/db.ts';
import { eventually } from '../support/eventually.ts';
import { seedSlackTenant, startPlatform, type Platform, type SlackTenant } from '../support/platform.ts';
import { mention, waitForThreadPosts } from '../support/runner-turns.ts';
import type { ChatRequest } from '../fakes/index.ts';

/**
 * Tools inside the turn, end to end: the model (fake OpenAI, real SDK) asks for the built-in
 * `current_time`, the runner runs it and sends the result back, the model answers; the call is
 * audited and each model call leaves a usage record.
 */
describe('runner: tools in a turn', () => {
  let p: Platform;
  let t: SlackTenant;
  let owner: pg.Client;

  beforeAll(async () => {
    p = await startPlatform(databaseUrl());
    t = await seedSlackTenant(databaseUrl(), p.masterKey, { agentName: 'Ava' });
    owner = new OwnerClient({ connectionString: databaseUrl() });
    await owner.connect();
    const toolId = randomUUID();
    await simpleQuery(owner, 
      `INSERT INTO tool_definitions (id, tenant_id, name, description, kind, updated_at) VALUES ($1, $2, 'current_time', '', 'builtin', now())`,
      [toolId, t.tenantId],
    );
    await simpleQuery(owner, 'INSERT INTO agent_tools (tenant_id, agent_id, tool_id) VALUES ($1, $2, $3)', [t.tenantId, t.agentId, toolId]);
  });
  afterAll(async () => {
    p.openai.respond();
    await owner?.end();
    await p?.close();
  });

  it('runs current_time for the model, answers with its result, and audits the call', async () => {
    p.openai.respond((req: ChatRequest) => {
      const toolResult = req.messages.find((m) => m.role === 'tool');
      if (!toolResult) return { toolCalls: [{ id: 'call_time_1', name: 'current_time', arguments: { timezone: 'Europe/Berlin' } }] };
      const { utc } = JSON.parse(String(toolResult.content)) as { utc?: string };
      return { content: `It is ${utc ?? JSON.stringify(toolResult.content)} in Berlin.` };
    });
    const before = p.openai.chatRequests().length;
    const sent = await mention(p, t, 'what time is it in Berlin?');
    const [post] = await waitForThreadPosts(p, sent.threadTs, 1);

    const requests = p.openai.chatRequests().slice(before);
    expect(requests).toHaveLength(2);
    // The tool was offered with its schema, and its result went back under the model's call id.
    expect(JSON.stringify(requests[0]!.tools)).toContain('current_time');
    const toolMsg = requests[1]!.messages.find((m) => m.role === 'tool')!;
    expect(toolMsg.tool_call_id).toBe('call_time_1');
    const result = JSON.parse(String(toolMsg.content));
    expect(Math.abs(Date.parse(result.utc) - Date.now())).toBeLessThan(60_000);
    expect(result.timezone).toBe('Europe/Berlin');
    expect(post!.text).toBe(`It is ${result.utc} in Berlin.`);

    const audits = await eventually(async () => {
      const { rows } = await simpleQuery(owner, 
        `SELECT a.action, a.data FROM audit_events a JOIN messages m ON m.id::text = a.subject_id
          WHERE a.tenant_id = $1 AND m.external_id LIKE '%' || $2 || '%' ORDER BY a.seq`,
        [t.tenantId, sent.ts],
      );
      expect(rows.length).toBe(3);
      return rows as { action: string; data: Record<string, any> }[];
    });
    expect(audits.map((a) => a.action)).toEqual(['llm.call', 'llm.call', 'tool.call']);
    expect(audits[2]!.data).toMatchObject({ tool: 'current_time', kind: 'builtin', toolCallId: 'call_time_1', outcome: 'ok', step: 1, argumentKeys: ['timezone'] });
    // Argument values never reach the audit trail.
    expect(JSON.stringify(audits[2]!.data)).not.toContain('Berlin');

    const usage = await simpleQuery(owner, 
      `SELECT u.model, u.input_tokens FROM usage_records u JOIN conversations c ON c.id = u.conversation_id
        WHERE u.tenant_id = $1 AND c.external_ref LIKE '%:' || $2`,
      [t.tenantId, sent.threadTs],
    );
    expect(usage.rows).toHaveLength(2);
  });

  it('sends a failing tool back to the model as an error and audits the failure', async () => {
    p.openai.respond((req: ChatRequest) => {
      const toolResult = req.messages.find((m) => m.role === 'tool');
      if (!toolResult) return { toolCalls: [{ id: 'call_bad_1', name: 'current_time', arguments: { timezone: 'Mars/Olympus' } }] };
      return { content: `Tool said: ${String(toolResult.content).includes('error') ? 'error' : 'ok'}` };
    });
    const sent = await mention(p, t, 'what time is it on Mars?');
    const [post] = await waitForThreadPosts(p, sent.threadTs, 1);
    expect(post!.text).toBe('Tool said: error');
    const tool = await eventually(async () => {
      const { rows } = await simpleQuery(owner, 
        `SELECT a.data FROM audit_events a JOIN messages m ON m.id::text = a.subject_id
          WHERE a.tenant_id = $1 AND m.external_id LIKE '%' || $2 || '%' AND a.action = 'tool.call'`,
        [t.tenantId, sent.ts],
      );
      expect(rows).toHaveLength(1);
      return rows[0].data;
    });
    expect(tool).toMatchObject({ tool: 'current_time', outcome: 'error', toolCallId: 'call_bad_1' });
  });
});
