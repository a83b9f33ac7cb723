import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { tenantScope } from '@konstruct/db';
import { LlmUnavailable, type ChatMessage, type ChatModel, type ChatRequest, type ChatResult, type ToolCall, type ToolSpec } from '../src/llm/types.ts';
import { DEFAULT_TOOL_FALLBACK, runToolLoop, type ToolCallAudit, type ToolLoopStep } from '../src/tools/loop.ts';
import { toolAuditEntry } from '../src/tools/audit.ts';
import { emptyToolset } from '../src/tools/registry.ts';
import type { ToolCallContext, ToolExecution, Toolset } from '../src/tools/types.ts';

// A scripted model: each entry answers one call (the last one repeats), and every request is kept.
type Script = (req: ChatRequest, n: number) => { text?: string; calls?: Omit<ToolCall, 'id'>[] } | Error;

function scriptedModel(script: Script[]) {
  const requests: ChatRequest[] = [];
  let n = 0;
  const model: ChatModel = {
    async complete(req) {
      requests.push({ ...req, messages: [...req.messages] });
      n += 1;
      const step = script[Math.min(n, script.length) - 1]!(req, n);
      if (step instanceof Error) throw step;
      const toolCalls = (step.calls ?? []).map((c, i) => ({ id: `call_${n}_${i}`, ...c }));
      const result: ChatResult = {
        provider: 'openai',
        model: 'gpt-fake',
        text: step.text ?? '',
        toolCalls,
        finishReason: toolCalls.length ? 'tool_calls' : 'stop',
        usage: { inputTokens: 100 * n, outputTokens: 10, cacheReadTokens: n === 2 ? 50 : 0, cacheWriteTokens: 0 },
        latencyMs: 5,
        costUsdMicros: n === 3 ? null : 1_000n,
      };
      return result;
    },
  };
  return { model, requests };
}

type Handler = (args: Record<string, unknown>) => Promise<{ content: string; isError?: boolean; handoff?: { handoffId: string | null } }>;

/** An in-memory toolset: the loop only needs specs and execute (the registry is tested in tools.test.ts). */
function fakeTools(handlers: Record<string, Handler>) {
  const executed: ToolCall[] = [];
  const specs: ToolSpec[] = Object.keys(handlers).map((name) => ({ name, description: `the ${name} tool`, parameters: { type: 'object' } }));
  const tools: Toolset = {
    scope: tenantScope(randomUUID()),
    agentId: randomUUID(),
    specs,
    async execute(call): Promise<ToolExecution> {
      executed.push(call);
      const r = await handlers[call.name]!(call.arguments);
      return {
        toolCallId: call.id,
        name: call.name,
        content: r.content,
        isError: r.isError ?? false,
        audit: {
          tool: call.name,
          toolId: null,
          kind: 'http',
          toolCallId: call.id,
          outcome: r.isError ? 'error' : 'ok',
          ...(r.isError && { errorCode: 'http_status' as const, status: 500 }),
          latencyMs: 1,
          argumentKeys: Object.keys(call.arguments).sort(),
        },
        ...(r.handoff && { handoff: r.handoff }),
      };
    },
  };
  return { tools, executed };
}

const ctx: ToolCallContext = { conversationId: randomUUID(), endUserExternalId: 'U1', messageId: randomUUID() };
const prompt: ChatMessage[] = [
  { role: 'system', content: 'You are Ava.' },
  { role: 'user', content: 'Where is order A-42?' },
];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('runToolLoop', () => {
  it('runs a step’s calls in parallel, appends results in call order, feeds errors back and answers', async () => {
    let fastStarted = false;
    let slowSawFastStarted = false;
    const { tools, executed } = fakeTools({
      slow: async () => {
        // If calls ran one after another, the fast one could not have started yet.
        for (let i = 0; i < 100 && !fastStarted; i += 1) await sleep(5);
        slowSawFastStarted = fastStarted;
        return { content: '{"order":"shipped"}' };
      },
      fast: async () => {
        fastStarted = true;
        return { content: '{"error":{"code":"http_status","message":"the tool answered HTTP 500"}}', isError: true };
      },
      lookup: async () => ({ content: '{"eta":"tomorrow"}' }),
    });
    const { model, requests } = scriptedModel([
      () => ({ text: 'Let me check.', calls: [{ name: 'slow', arguments: { order: 'A-42' } }, { name: 'fast', arguments: {} }] }),
      () => ({ calls: [{ name: 'lookup', arguments: { order: 'A-42' } }] }),
      () => ({ text: '  Your order ships tomorrow.  ' }),
    ]);
    const audits: ToolCallAudit[] = [];
    const steps: ToolLoopStep[] = [];
    const before = JSON.stringify(prompt);

    const res = await runToolLoop({
      model,
      request: { model: 'default', tenantId: 't-1' },
      messages: prompt,
      tools,
      context: ctx,
      maxSteps: 5,
      audit: (a) => void audits.push(a),
      onStep: (s) => void steps.push(s),
    });

    expect(slowSawFastStarted).toBe(true);
    expect(res).toMatchObject({ stopReason: 'answered', text: 'Your order ships tomorrow.', steps: 2 });
    expect(res.transcript).toEqual([
      {
        role: 'assistant',
        content: 'Let me check.',
        toolCalls: [
          { id: 'call_1_0', name: 'slow', arguments: { order: 'A-42' } },
          { id: 'call_1_1', name: 'fast', arguments: {} },
        ],
      },
      { role: 'tool', toolCallId: 'call_1_0', name: 'slow', content: '{"order":"shipped"}' },
      { role: 'tool', toolCallId: 'call_1_1', name: 'fast', content: expect.stringContaining('HTTP 500'), isError: true },
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_2_0', name: 'lookup', arguments: { order: 'A-42' } }] },
      { role: 'tool', toolCallId: 'call_2_0', name: 'lookup', content: '{"eta":"tomorrow"}' },
      { role: 'assistant', content: 'Your order ships tomorrow.' },
    ]);
    // Each call saw the prompt plus everything so far, with the tools declared and the request options kept.
    expect(requests).toHaveLength(3);
    expect(requests.map((r) => r.messages.length)).toEqual([2, 5, 7]);
    expect(requests[2]!.messages).toEqual([...prompt, ...res.transcript.slice(0, 5)]);
    for (const r of requests) expect(r).toMatchObject({ model: 'default', tenantId: 't-1', tools: tools.specs });
    expect(JSON.stringify(prompt)).toBe(before);

    expect(executed.map((c) => c.id)).toEqual(expect.arrayContaining(['call_1_0', 'call_1_1', 'call_2_0']));
    expect(res.toolCalls.map((r) => [r.step, r.call.id, r.execution.isError])).toEqual([
      [1, 'call_1_0', false],
      [1, 'call_1_1', true],
      [2, 'call_2_0', false],
    ]);
    expect(audits.map((a) => [a.step, a.tool, a.outcome])).toEqual(
      expect.arrayContaining([
        [1, 'slow', 'ok'],
        [1, 'fast', 'error'],
        [2, 'lookup', 'ok'],
      ]),
    );
    expect(audits).toHaveLength(3);
    expect(steps.map((s) => [s.call, s.executions.length])).toEqual([
      [1, 2],
      [2, 1],
      [3, 0],
    ]);

    expect(res.results).toHaveLength(3);
    expect(res.final).toBe(res.results[2]);
    expect(res.usage).toEqual({ inputTokens: 600, outputTokens: 30, cacheReadTokens: 50, cacheWriteTokens: 0 });
    expect(res).toMatchObject({ costUsdMicros: 2_000n, unpricedCalls: 1 });
    expect(res).toMatchObject({ failedToolCalls: 1, consecutiveToolFailures: 0, maxConsecutiveToolFailures: 1, handoff: null });
  });

  it('enforces maxSteps: after the limit the model is told so once, and further tool calls are not run', async () => {
    const { tools, executed } = fakeTools({ search: async () => ({ content: '{"hits":[]}' }) });
    const { model, requests } = scriptedModel([
      (req) =>
        req.messages.at(-1)?.role === 'system'
          ? { text: 'I could not find it in time.', calls: [{ name: 'search', arguments: { q: 'again' } }] }
          : { calls: [{ name: 'search', arguments: { q: 'x' } }] },
    ]);
    const audits: ToolCallAudit[] = [];
    const res = await runToolLoop({ model, messages: prompt, tools, context: ctx, maxSteps: 2, audit: (a) => void audits.push(a) });

    expect(requests).toHaveLength(3);
    expect(executed).toHaveLength(2);
    expect(res).toMatchObject({ stopReason: 'max_steps', steps: 2, text: 'I could not find it in time.' });
    const last = requests[2]!;
    expect(last.messages.at(-1)).toEqual({ role: 'system', content: expect.stringContaining('used all 2 tool steps') });
    expect(last.tools).toEqual(tools.specs);
    expect(requests[1]!.messages.some((m) => m.role === 'system' && m.content.includes('tool steps'))).toBe(false);
    // The unrun call is audited as skipped, kept out of the transcript, and not a failure.
    expect(audits.map((a) => a.outcome)).toEqual(['ok', 'ok', 'skipped']);
    expect(res.toolCalls.at(-1)!.execution).toMatchObject({ isError: true, audit: { outcome: 'skipped', errorCode: 'not_executed' } });
    expect(res.transcript.at(-1)).toEqual({ role: 'assistant', content: 'I could not find it in time.' });
    expect(res.transcript.filter((m) => m.role === 'tool')).toHaveLength(2);
    expect(res.transcript.some((m) => m.role === 'system')).toBe(false);
    expect(res.failedToolCalls).toBe(0);
  });

  it('falls back to a clear reply when the model, out of steps, answers only with tool calls', async () => {
    const { tools } = fakeTools({ search: async () => ({ content: '{}' }) });
    const { model, requests } = scriptedModel([() => ({ calls: [{ name: 'search', arguments: {} }] })]);
    const res = await runToolLoop({ model, messages: prompt, tools, context: ctx, maxSteps: 1 });
    expect(requests).toHaveLength(2);
    expect(res).toMatchObject({ stopReason: 'max_steps', text: DEFAULT_TOOL_FALLBACK });
    expect(res.transcript.at(-1)).toEqual({ role: 'assistant', content: DEFAULT_TOOL_FALLBACK });

    const custom = await runToolLoop({ model, messages: prompt, tools, context: ctx, maxSteps: 1, fallbackText: 'Ava will get back to you.' });
    expect(custom.text).toBe('Ava will get back to you.');
  });

  it('counts consecutive tool failures for the escalation rule', async () => {
    let n = 0;
    const { tools } = fakeTools({
      flaky: async () => {
        n += 1;
        return n === 2 ? { content: '{"ok":true}' } : { content: '{"error":{}}', isError: true };
      },
    });
    const { model } = scriptedModel([
      () => ({ calls: [{ name: 'flaky', arguments: {} }] }),
      () => ({ calls: [{ name: 'flaky', arguments: {} }] }),
      () => ({ calls: [{ name: 'flaky', arguments: {} }, { name: 'flaky', arguments: {} }] }),
      () => ({ calls: [{ name: 'flaky', arguments: {} }] }),
      () => ({ text: 'Sorry, the order system is down.' }),
    ]);
    const res = await runToolLoop({ model, messages: prompt, tools, context: ctx, maxSteps: 10 });
    // fail, ok, fail, fail, fail
    expect(res).toMatchObject({ failedToolCalls: 4, consecutiveToolFailures: 3, maxConsecutiveToolFailures: 3, stopReason: 'answered' });
  });

  it('keeps everything done so far when a model call fails mid-loop', async () => {
    const { tools } = fakeTools({ lookup: async () => ({ content: '{"eta":"tomorrow"}' }) });
    const { model } = scriptedModel([() => ({ calls: [{ name: 'lookup', arguments: {} }] }), () => new LlmUnavailable('every deployment failed')]);
    const audits: ToolCallAudit[] = [];
    const res = await runToolLoop({ model, messages: prompt, tools, context: ctx, maxSteps: 3, audit: (a) => void audits.push(a) });
    expect(res.stopReason).toBe('model_error');
    expect(res.error).toBeInstanceOf(LlmUnavailable);
    expect(res).toMatchObject({ text: '', steps: 1 });
    expect(res.results).toHaveLength(1);
    expect(res.final).toBe(res.results[0]);
    expect(res.transcript.map((m) => m.role)).toEqual(['assistant', 'tool']);
    expect(audits).toHaveLength(1);

    const first = await runToolLoop({ model: scriptedModel([() => new LlmUnavailable('down')]).model, messages: prompt, tools, context: ctx, maxSteps: 3 });
    expect(first).toMatchObject({ stopReason: 'model_error', final: null, results: [], transcript: [] });
  });

  it('runs at most maxCallsPerStep calls of one turn; the rest get a not-executed result', async () => {
    const { tools, executed } = fakeTools({ t: async () => ({ content: '1' }) });
    const { model, requests } = scriptedModel([
      () => ({ calls: [0, 1, 2].map((i) => ({ name: 't', arguments: { i } })) }),
      () => ({ text: 'done' }),
    ]);
    const audits: ToolCallAudit[] = [];
    const res = await runToolLoop({ model, messages: prompt, tools, context: ctx, maxSteps: 3, maxCallsPerStep: 2, audit: (a) => void audits.push(a) });
    expect(executed.map((c) => c.arguments.i)).toEqual([0, 1]);
    const results = requests[1]!.messages.filter((m) => m.role === 'tool');
    expect(results).toHaveLength(3);
    expect(results[2]).toMatchObject({ toolCallId: 'call_1_2', isError: true, content: expect.stringContaining('at most 2 tool calls') });
    expect(audits.map((a) => a.outcome)).toEqual(['ok', 'ok', 'skipped']);
    expect(res.text).toBe('done');
  });

  it('offers no tools with maxSteps 0 or an empty toolset', async () => {
    const { tools } = fakeTools({ t: async () => ({ content: '1' }) });
    const { model, requests } = scriptedModel([() => ({ text: 'hi' })]);
    await runToolLoop({ model, messages: prompt, tools, context: ctx, maxSteps: 0 });
    await runToolLoop({ model, messages: prompt, tools: emptyToolset(tools.scope, tools.agentId), context: ctx, maxSteps: 4 });
    expect(requests.map((r) => r.tools)).toEqual([undefined, undefined]);
  });

  it('a failing audit or onStep hook does not break the loop; a handoff is reported', async () => {
    const { tools } = fakeTools({ handoff_to_human: async () => ({ content: '{"status":"handed_off"}', handoff: { handoffId: 'h-9' } }) });
    const { model } = scriptedModel([() => ({ calls: [{ name: 'handoff_to_human', arguments: { reason: 'r', summary: 's' } }] }), () => ({ text: 'A colleague will follow up.' })]);
    const res = await runToolLoop({
      model,
      messages: prompt,
      tools,
      context: ctx,
      maxSteps: 2,
      audit: () => Promise.reject(new Error('audit store down')),
      onStep: () => {
        throw new Error('budget hook bug');
      },
    });
    expect(res).toMatchObject({ stopReason: 'answered', text: 'A colleague will follow up.', handoff: { handoffId: 'h-9' } });
  });
});

describe('toolAuditEntry', () => {
  it('maps a call to a tool.call audit entry without argument values', () => {
    const entry = toolAuditEntry(
      'agent-1',
      { step: 2, tool: 'lookup', toolId: 't-1', kind: 'http', toolCallId: 'call_1', outcome: 'error', errorCode: 'timeout', latencyMs: 200, argumentKeys: ['order'] },
      { type: 'message', id: 'm-1' },
    );
    expect(entry).toEqual({
      actorKind: 'agent',
      actorId: 'agent-1',
      action: 'tool.call',
      subjectType: 'message',
      subjectId: 'm-1',
      data: { tool: 'lookup', toolId: 't-1', kind: 'http', toolCallId: 'call_1', step: 2, outcome: 'error', errorCode: 'timeout', latencyMs: 200, argumentKeys: ['order'] },
    });
  });
});
