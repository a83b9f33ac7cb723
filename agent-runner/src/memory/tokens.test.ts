import { describe, expect, it } from 'vitest';
import { MESSAGE_OVERHEAD_TOKENS, estimateEntryTokens, estimateTextTokens } from './tokens.ts';

describe('token estimate', () => {
  it('counts ASCII at four characters per token, rounded up', () => {
    expect(estimateTextTokens('')).toBe(0);
    expect(estimateTextTokens('abcd')).toBe(1);
    expect(estimateTextTokens('abcde')).toBe(2);
    expect(estimateTextTokens('The quick brown fox jumps over the lazy dog')).toBe(11);
  });

  it('counts every non-ASCII code point as a token (CJK, emoji), so other scripts are not undercounted', () => {
    expect(estimateTextTokens('東京')).toBe(2);
    expect(estimateTextTokens('😀')).toBe(1);
    expect(estimateTextTokens('café')).toBe(1 + 1);
  });

  it('adds framing per message and the tool calls of an assistant message', () => {
    expect(estimateEntryTokens({ role: 'user', content: 'abcd' })).toBe(MESSAGE_OVERHEAD_TOKENS + 1);
    const withCall = estimateEntryTokens({
      role: 'assistant',
      content: '',
      toolCalls: [{ id: 'call_1', name: 'lookup', arguments: { order: 'A1' } }],
    });
    expect(withCall).toBe(MESSAGE_OVERHEAD_TOKENS + MESSAGE_OVERHEAD_TOKENS + estimateTextTokens('lookup') + estimateTextTokens('{"order":"A1"}'));
    expect(estimateEntryTokens({ role: 'tool', toolCallId: 'call_1', name: 'lookup', content: '{"ok":true}' })).toBe(
      MESSAGE_OVERHEAD_TOKENS + estimateTextTokens('{"ok":true}') + estimateTextTokens('lookup'),
    );
  });
});
