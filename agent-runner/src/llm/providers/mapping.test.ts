import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../types.ts';
import { toolArguments } from './adapter.ts';
import { toAnthropicRequest } from './anthropic.ts';
import { toOllamaMessages } from './ollama.ts';
import { toOpenAiMessages } from './openai.ts';

const conversation: ChatMessage[] = [
  { role: 'system', content: 'You are Ava.' },
  { role: 'user', content: 'Book me a table and check the weather.' },
  {
    role: 'assistant',
    content: '',
    toolCalls: [
      { id: 'call_1', name: 'book', arguments: { people: 2 } },
      { id: 'call_2', name: 'weather', arguments: { city: 'Oslo' } },
    ],
  },
  { role: 'tool', toolCallId: 'call_1', name: 'book', content: 'booked' },
  { role: 'tool', toolCallId: 'call_2', name: 'weather', content: 'timeout', isError: true },
  { role: 'system', content: 'Relevant memory: likes window seats.' },
  { role: 'user', content: 'Thanks!' },
];

describe('Anthropic request mapping', () => {
  it('hoists every system message to the top-level system prompt with a cache breakpoint', () => {
    const { system } = toAnthropicRequest(conversation, true);
    expect(system).toEqual([{ type: 'text', text: 'You are Ava.\n\nRelevant memory: likes window seats.', cache_control: { type: 'ephemeral' } }]);
    expect(toAnthropicRequest(conversation, false).system).toEqual([{ type: 'text', text: 'You are Ava.\n\nRelevant memory: likes window seats.' }]);
    expect(toAnthropicRequest([{ role: 'user', content: 'hi' }], true).system).toBeUndefined();
  });

  it('puts all tool results of a turn, then any user text, into one user message', () => {
    const { messages } = toAnthropicRequest(conversation, true);
    expect(messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Book me a table and check the weather.' }] },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'call_1', name: 'book', input: { people: 2 } },
          { type: 'tool_use', id: 'call_2', name: 'weather', input: { city: 'Oslo' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: 'booked' },
          { type: 'tool_result', tool_use_id: 'call_2', content: 'timeout', is_error: true },
          { type: 'text', text: 'Thanks!' },
        ],
      },
    ]);
  });

  it('drops empty turns, which the API rejects', () => {
    const { messages } = toAnthropicRequest(
      [
        { role: 'user', content: 'a' },
        { role: 'assistant', content: '' },
        { role: 'user', content: '' },
        { role: 'user', content: 'b' },
      ],
      true,
    );
    expect(messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }]);
  });
});

describe('OpenAI and Ollama message mapping', () => {
  it('keeps OpenAI tool calls as JSON strings and results by id', () => {
    const out = toOpenAiMessages(conversation);
    expect(out[2]).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: 'call_1', type: 'function', function: { name: 'book', arguments: '{"people":2}' } },
        { id: 'call_2', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } },
      ],
    });
    expect(out[4]).toEqual({ role: 'tool', tool_call_id: 'call_2', content: 'timeout' });
    expect(out[5]).toEqual({ role: 'system', content: 'Relevant memory: likes window seats.' });
  });

  it('sends a malformed tool call back to OpenAI exactly as the model wrote it', () => {
    const out = toOpenAiMessages([{ role: 'assistant', content: '', toolCalls: [{ id: 'c', name: 'x', arguments: {}, invalidArguments: '{"a":' }] }]);
    expect(out[0]).toMatchObject({ tool_calls: [{ function: { arguments: '{"a":' } }] });
  });

  it('gives Ollama object arguments and results by tool name', () => {
    const out = toOllamaMessages(conversation);
    expect(out[2]).toEqual({
      role: 'assistant',
      content: '',
      tool_calls: [{ function: { name: 'book', arguments: { people: 2 } } }, { function: { name: 'weather', arguments: { city: 'Oslo' } } }],
    });
    expect(out[3]).toEqual({ role: 'tool', content: 'booked', tool_name: 'book' });
  });
});

describe('toolArguments', () => {
  it('parses JSON text, accepts objects, and flags anything that is not an object', () => {
    expect(toolArguments('{"a":1}')).toEqual({ arguments: { a: 1 } });
    expect(toolArguments({ a: 1 })).toEqual({ arguments: { a: 1 } });
    expect(toolArguments('')).toEqual({ arguments: {} });
    expect(toolArguments('{"a":')).toEqual({ arguments: {}, invalidArguments: '{"a":' });
    expect(toolArguments('[1]')).toEqual({ arguments: {}, invalidArguments: '[1]' });
  });
});
