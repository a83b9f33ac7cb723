import { describe, expect, it } from 'vitest';
import { callCostUsdMicros } from '../llm/prices.ts';
import type { ChatMessage, ToolSpec } from '../llm/types.ts';
import { actualUsage, estimateCall, promptTokenBound, TOKEN_ALLOWANCE } from './estimate.ts';

const messages: ChatMessage[] = [
  { role: 'system', content: 'You are Ava, a helpful support agent for Acme.' },
  { role: 'user', content: 'Où est ma commande n° 1234 ? 🙂' },
  { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'lookup_order', arguments: { id: 1234 } }] },
  { role: 'tool', toolCallId: 'call_1', name: 'lookup_order', content: '{"status":"shipped"}' },
];
const tools: ToolSpec[] = [{ name: 'lookup_order', description: 'Find an order', parameters: { type: 'object', properties: { id: { type: 'number' } } } }];
const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

describe('estimateCall', () => {
  it('bounds the prompt by its UTF-8 bytes plus framing allowances (multi-byte text counts per byte)', () => {
    const contentBytes =
      utf8(messages[0]!.content) + utf8(messages[1]!.content) +
      utf8('call_1') + utf8('lookup_order') + utf8('{"id":1234}') +
      utf8('{"status":"shipped"}') + utf8('call_1') + utf8('lookup_order');
    const framing = TOKEN_ALLOWANCE.perRequest + 5 * TOKEN_ALLOWANCE.perMessage;
    expect(promptTokenBound(messages)).toBe(framing + contentBytes);
    const toolBytes = utf8('lookup_order') + utf8('Find an order') + utf8(JSON.stringify(tools[0]!.parameters));
    expect(promptTokenBound(messages, tools)).toBe(framing + contentBytes + TOKEN_ALLOWANCE.toolsPreamble + TOKEN_ALLOWANCE.perTool + toolBytes);
    expect(promptTokenBound(messages, [], 4)).toBe(framing + Math.ceil(contentBytes / 4));
  });

  it('adds the output cap, and prices the bound at the dearest deployment of the chain (rounded up)', () => {
    const input = promptTokenBound(messages);
    const e = estimateCall({ messages, maxOutputTokens: 500, deployments: ['openai:gpt-4o-mini', 'anthropic:claude-sonnet-4-5', 'ollama:llama3.1'] });
    expect(e.inputTokens).toBe(input);
    expect(e.outputTokens).toBe(500);
    expect(e.tokens).toBe(input + 500);
    // Sonnet 4.5 is the dearest: cache writes at $3.75/M (dearer than plain input), output $15/M.
    expect(e.usdMicros).toBe(BigInt(Math.ceil(input * 3.75 + 500 * 15)));
    expect(estimateCall({ messages, maxOutputTokens: 500, deployments: ['gpt-4o-mini'] }).usdMicros).toBe(BigInt(Math.ceil(input * 0.15 + 500 * 0.6)));
  });

  it('the money estimate is never below what the call can cost for any usage within the bound', () => {
    const deployments = ['openai:gpt-4o', 'anthropic:claude-3-5-haiku-latest'] as const;
    const e = estimateCall({ messages, tools, maxOutputTokens: 300, deployments: [...deployments] });
    for (const d of deployments) {
      const [provider, model] = d.split(':') as ['openai' | 'anthropic', string];
      for (const usage of [
        { inputTokens: e.inputTokens, outputTokens: 300, cacheReadTokens: 0, cacheWriteTokens: 0 },
        { inputTokens: e.inputTokens, outputTokens: 300, cacheReadTokens: 0, cacheWriteTokens: e.inputTokens },
        { inputTokens: e.inputTokens, outputTokens: 300, cacheReadTokens: e.inputTokens, cacheWriteTokens: 0 },
      ]) {
        expect(callCostUsdMicros(provider, model, usage)! <= e.usdMicros, `${d} ${JSON.stringify(usage)}`).toBe(true);
      }
    }
  });

  it('models missing from the price table and free local models add nothing to the money estimate', () => {
    expect(estimateCall({ messages, maxOutputTokens: 100, deployments: ['openai:some-future-model', 'ollama:llama3.1'] }).usdMicros).toBe(0n);
    expect(estimateCall({ messages, maxOutputTokens: 100, deployments: [] }).usdMicros).toBe(0n);
  });

  it('actual usage: input + output tokens (cached tokens are part of input), unknown cost as 0', () => {
    const usage = { inputTokens: 1_000, outputTokens: 200, cacheReadTokens: 800, cacheWriteTokens: 100 };
    expect(actualUsage({ usage, costUsdMicros: 321n })).toEqual({ tokens: 1_200, usdMicros: 321n });
    expect(actualUsage({ usage, costUsdMicros: null })).toEqual({ tokens: 1_200, usdMicros: 0n });
  });
});
