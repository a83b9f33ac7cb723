import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, keyringFrom } from '@konstruct/core';
import type { Db, TenantScope } from '@konstruct/db';
import { startFakeAnthropic, startFakeOpenAI, type FakeAnthropic, type FakeOpenAI } from '../../test/fakes/index.ts';
import { appDb, createTenant, ownerClient } from '../../test/support/db.ts';
import { parseModelGroups } from '../src/llm/deployments.ts';
import { createAnthropicAdapter } from '../src/llm/providers/anthropic.ts';
import { createOllamaAdapter } from '../src/llm/providers/ollama.ts';
import { createOpenAiAdapter } from '../src/llm/providers/openai.ts';
import { LlmRouter } from '../src/llm/router.ts';
import { ToolRegistry } from '../src/tools/registry.ts';
import { runToolLoop, type ToolCallAudit } from '../src/tools/loop.ts';

/*
 * The tool loop through the real LLM router and the providers' official SDKs, against fake
 * OpenAI and Anthropic servers that speak the real wire formats (the Anthropic fake rejects
 * tool_use blocks without their tool_result, as the API does).
 */

const logger = createLogger('tools-router-test', 'silent');
const clock = () => new Date('2026-03-01T12:00:00.000Z');

let owner: pg.Client;
let db: Db;
let openai: FakeOpenAI;
let anthropic: FakeAnthropic;
let scope: TenantScope;
let agentId: string;

function router(chain: string[]) {
  const groups = parseModelGroups(JSON.stringify({ default: chain }), 'gpt-4o-mini');
  if ('error' in groups) throw new Error(groups.error);
  return new LlmRouter({
    adapters: { openai: createOpenAiAdapter(), anthropic: createAnthropicAdapter(), ollama: createOllamaAdapter() },
    platform: {
      openai: { baseUrl: `${openai.url}/v1`, apiKey: 'sk-platform-openai' },
      anthropic: { baseUrl: anthropic.url, apiKey: 'sk-ant-platform' },
      ollama: { baseUrl: 'http://127.0.0.1:9' },
    },
    groups: groups.groups,
    timeoutMs: 5_000,
    maxTokens: 256,
    retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 0 },
    cooldown: { failureThreshold: 100, cooldownMs: 60_000 },
  });
}

beforeAll(async () => {
  owner = await ownerClient();
  db = appDb(2);
  [openai, anthropic] = await Promise.all([startFakeOpenAI(), startFakeAnthropic()]);
  scope = await createTenant(owner, 'Tools via router');
  agentId = randomUUID();
  await owner.query('INSERT INTO agents (id, tenant_id, name) VALUES ($1, $2, $3)', [agentId, scope.tenantId, 'Ava']);
  const toolId = randomUUID();
  await owner.query(`INSERT INTO tool_definitions (id, tenant_id, name, description, kind) VALUES ($1, $2, 'current_time', 'The time now.', 'builtin')`, [
    toolId,
    scope.tenantId,
  ]);
  await owner.query('INSERT INTO agent_tools (tenant_id, agent_id, tool_id) VALUES ($1, $2, $3)', [scope.tenantId, agentId, toolId]);
});
afterAll(async () => {
  await Promise.all([openai?.close(), anthropic?.close()]);
  await db?.close();
  await owner?.end();
});

const registry = () => new ToolRegistry({ db, keyring: keyringFrom(randomBytes(32).toString('base64')), logger, allowPrivateNetwork: false, clock });
const ctx = { conversationId: randomUUID(), endUserExternalId: 'U1', messageId: randomUUID() };
const messages = [
  { role: 'system' as const, content: 'You are Ava.' },
  { role: 'user' as const, content: 'What time is it in Oslo?' },
];

describe('tool loop over the LLM router', () => {
  it('OpenAI: a tool call round trip in the Chat Completions wire format', async () => {
    openai.respond((req, { call }) => {
      if (call === 1) return { toolCalls: [{ id: 'call_oslo', name: 'current_time', arguments: { timezone: 'Europe/Oslo' } }] };
      const result = req.messages.find((m) => m.role === 'tool');
      const local = (JSON.parse(String(result?.content)) as { local: string }).local;
      return { content: `In Oslo it is ${local}.` };
    });
    const tools = await registry().forAgent(scope, agentId);
    const audits: ToolCallAudit[] = [];
    const res = await runToolLoop({
      model: router(['openai:gpt-4o-mini']),
      request: { tenantId: scope.tenantId },
      messages,
      tools,
      context: ctx,
      maxSteps: 3,
      audit: (a) => void audits.push(a),
    });

    expect(res).toMatchObject({ stopReason: 'answered', text: 'In Oslo it is 2026-03-01T13:00:00+01:00.', steps: 1 });
    const [first, second] = openai.chatRequests();
    expect(first!.tools).toEqual([
      { type: 'function', function: { name: 'current_time', description: 'The time now.', parameters: expect.objectContaining({ type: 'object' }) } },
    ]);
    expect(second!.messages.slice(-2)).toEqual([
      expect.objectContaining({
        role: 'assistant',
        tool_calls: [{ id: 'call_oslo', type: 'function', function: { name: 'current_time', arguments: '{"timezone":"Europe/Oslo"}' } }],
      }),
      expect.objectContaining({ role: 'tool', tool_call_id: 'call_oslo', content: expect.stringContaining('"timezone":"Europe/Oslo"') }),
    ]);
    expect(res.results.map((r) => r.provider)).toEqual(['openai', 'openai']);
    expect(res.usage.inputTokens).toBe(res.results[0]!.usage.inputTokens + res.results[1]!.usage.inputTokens);
    expect(audits).toEqual([expect.objectContaining({ tool: 'current_time', kind: 'builtin', outcome: 'ok', step: 1, toolCallId: 'call_oslo' })]);
  });

  it('Anthropic: the step limit holds and every tool_use keeps its tool_result', async () => {
    anthropic.respond((req) => {
      const told = JSON.stringify(req.system ?? '').includes('Do not call any more tools');
      return told ? { text: 'It is 13:00 in Oslo.' } : { toolUses: [{ name: 'current_time', input: { timezone: 'Europe/Oslo' } }] };
    });
    const tools = await registry().forAgent(scope, agentId);
    const res = await runToolLoop({
      model: router(['anthropic:claude-3-5-haiku-latest']),
      request: { tenantId: scope.tenantId },
      messages,
      tools,
      context: ctx,
      maxSteps: 2,
    });
    // Two tool steps, then the answer; the fake would have answered 400 to an unpaired tool_use.
    expect(res).toMatchObject({ stopReason: 'max_steps', steps: 2, text: 'It is 13:00 in Oslo.' });
    expect(anthropic.requests).toHaveLength(3);
    expect(res.results.map((r) => r.provider)).toEqual(['anthropic', 'anthropic', 'anthropic']);
    expect(res.transcript.map((m) => m.role)).toEqual(['assistant', 'tool', 'assistant', 'tool', 'assistant']);
  });
});
