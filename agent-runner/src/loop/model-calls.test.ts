import { describe, expect, it } from 'vitest';
import { LlmUnavailable, type ChatModel, type ChatResult, type LlmAttempt, type RoutedResult } from '../llm/types.ts';
import { modelCallAudits, recordingModel, type ModelCall } from './model-calls.ts';
import { BudgetBlocked } from './budgeted-model.ts';
import type { BudgetExhausted } from '../budget/types.ts';

const usage = { inputTokens: 12, outputTokens: 5, cacheReadTokens: 0, cacheWriteTokens: 0 };
const result: ChatResult = { provider: 'anthropic', model: 'claude-3-5-haiku-20241022', text: 'hi', toolCalls: [], finishReason: 'stop', usage, latencyMs: 40, costUsdMicros: 30n };
const attempt = (a: Partial<LlmAttempt>): LlmAttempt => ({
  seq: 1,
  deployment: 'openai:gpt-4o-mini',
  provider: 'openai',
  model: 'gpt-4o-mini',
  try: 1,
  keySource: 'platform',
  outcome: 'error',
  latencyMs: 10,
  ...a,
});

describe('recordingModel', () => {
  it('keeps the attempts the router reports, and derives one for a model that reports none', async () => {
    const calls: ModelCall[] = [];
    const routed: ChatModel = {
      async complete(req) {
        req.onAttempt?.(attempt({ errorClass: 'server_error', status: 500, next: 'fallback' }));
        req.onAttempt?.(attempt({ seq: 2, deployment: 'anthropic:claude-3-5-haiku-latest', provider: 'anthropic', model: 'claude-3-5-haiku-latest', outcome: 'ok', usage, costUsdMicros: 30n }));
        return { ...result, deployment: 'anthropic:claude-3-5-haiku-latest', keySource: 'platform', fellBack: true, attempts: [] } satisfies RoutedResult;
      },
    };
    await recordingModel(routed, calls).complete({ messages: [] });
    await recordingModel({ complete: async () => ({ ...result, provider: 'openai', model: 'gpt-4o-mini' }) }, calls).complete({ model: 'gpt-4o-mini', messages: [] });
    expect(calls.map((c) => [c.attempts.length, c.fellBack])).toEqual([
      [2, true],
      [1, false],
    ]);

    const audits = modelCallAudits(calls, 'agent-1', { type: 'message', id: 'm-1' });
    expect(audits.map((a) => [a.action, a.data?.provider ?? null, a.data?.outcome ?? null])).toEqual([
      ['llm.call', 'openai', 'error'],
      ['llm.call', 'anthropic', 'ok'],
      ['llm.fallback', null, null],
      ['llm.call', 'openai', 'ok'],
    ]);
    expect(audits[1]!.data).toMatchObject({ model: 'claude-3-5-haiku-20241022', inputTokens: 12, outputTokens: 5, costUsdMicros: 30, latencyMs: 10 });
    expect(audits[2]!.data).toMatchObject({ from: 'openai:gpt-4o-mini', to: 'anthropic:claude-3-5-haiku-latest', failedAttempts: 1, reasons: ['server_error'] });
  });

  it('records a call no deployment answered with the reason, and lets a budget refusal through unrecorded', async () => {
    const calls: ModelCall[] = [];
    const down: ChatModel = {
      complete: async () => {
        throw new LlmUnavailable('every deployment failed: openai:gpt-4o-mini server_error HTTP 503', { attempts: [attempt({ status: 503, errorClass: 'server_error' })] });
      },
    };
    await expect(recordingModel(down, calls).complete({ messages: [] })).rejects.toBeInstanceOf(LlmUnavailable);
    const blocked = new BudgetBlocked({ budgetId: 'b' } as BudgetExhausted, 'openai:gpt-4o', ['openai:gpt-4o']);
    await expect(recordingModel({ complete: async () => Promise.reject(blocked) }, calls).complete({ messages: [] })).rejects.toBe(blocked);
    expect(calls).toHaveLength(1);
    const audits = modelCallAudits(calls, 'agent-1', { type: 'message', id: 'm-1' });
    expect(audits.map((a) => a.data?.outcome)).toEqual(['error', 'unavailable']);
    expect(audits[1]!.data).toMatchObject({ reason: expect.stringContaining('HTTP 503'), attempts: 1 });
  });
});
