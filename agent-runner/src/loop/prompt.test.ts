import { describe, it, expect } from 'vitest';
import { buildPrompt, buildWindowPrompt, systemPrompt, unavailableReply, type AgentProfile, type HistoryEntry } from './prompt.ts';
import { scopeInstructions } from '../scoping/scope-step.ts';

const agent: AgentProfile = {
  name: 'Mia',
  role: 'customer support lead',
  persona: 'Warm, concise, never uses jargon.',
  jobDescription: 'Answers customer questions about orders and deliveries.',
  statementOfWork: 'Resolve delivery questions within one reply where possible.',
  systemPrompt: 'Always sign off with "— Mia".',
  businessFunctions: ['Customer support', 'Logistics'],
};

describe('systemPrompt', () => {
  it('includes every section in order: name/role, persona, job, SOW, functions, operator prompt', () => {
    const prompt = systemPrompt(agent);
    const pieces = [
      'You are Mia, customer support lead.',
      'Persona: Warm, concise, never uses jargon.',
      'Job description: Answers customer questions about orders and deliveries.',
      'Statement of work: Resolve delivery questions within one reply where possible.',
      'You help with: Customer support; Logistics.',
      'Always sign off with "— Mia".',
    ];
    expect(prompt).toBe(pieces.join('\n\n'));
    const positions = pieces.map((p) => prompt.indexOf(p));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it('on WhatsApp ends with the business functions the employee must keep to; Slack is unchanged', () => {
    const whatsapp = systemPrompt(agent, { channel: 'whatsapp' });
    expect(whatsapp.startsWith(systemPrompt(agent))).toBe(true);
    expect(whatsapp).toMatch(/on WhatsApp, where you may act only for these business functions:\n- Customer support\n- Logistics\n/);
    expect(whatsapp.indexOf('- Logistics')).toBeGreaterThan(whatsapp.indexOf('Always sign off'));
    expect(systemPrompt(agent, { channel: 'slack' })).toBe(systemPrompt(agent));
    expect(buildPrompt(agent, [], 'hi', { channel: 'whatsapp' })[0]!.content).toBe(whatsapp);
  });

  it('omits empty sections', () => {
    const prompt = systemPrompt({ ...agent, persona: '', statementOfWork: '', businessFunctions: [] });
    expect(prompt).not.toContain('Persona:');
    expect(prompt).not.toContain('Statement of work:');
    expect(prompt).not.toContain('You help with');
    expect(prompt).not.toMatch(/\n\n\n/);
    expect(prompt).toBe(
      [
        'You are Mia, customer support lead.',
        'Job description: Answers customer questions about orders and deliveries.',
        'Always sign off with "— Mia".',
      ].join('\n\n'),
    );
  });

  it('with only a name is a single sentence without a dangling comma', () => {
    const prompt = systemPrompt({
      name: 'Mia',
      role: '',
      persona: '',
      jobDescription: '',
      statementOfWork: '',
      systemPrompt: '',
      businessFunctions: [],
    });
    expect(prompt).toBe('You are Mia.');
  });

  it('puts the operator prompt last', () => {
    expect(systemPrompt(agent).endsWith('Always sign off with "— Mia".')).toBe(true);
  });
});

describe('buildPrompt', () => {
  const history: HistoryEntry[] = [
    { author: 'end_user', text: 'Hi, where is my order?' },
    { author: 'agent', text: 'It ships tomorrow.' },
    { author: 'end_user', text: '' },
    { author: 'human', text: 'I have upgraded it to express.' },
    { author: 'system', text: 'Conversation handed back to Mia.' },
    { author: 'end_user', text: 'Thanks!' },
  ];

  it('orders system, history oldest first as given, then the new message, mapping roles and skipping empty texts', () => {
    const messages = buildPrompt(agent, history, 'Can I change the address?');
    expect(messages).toEqual([
      { role: 'system', content: systemPrompt(agent) },
      { role: 'user', content: 'Hi, where is my order?' },
      { role: 'assistant', content: 'It ships tomorrow.' },
      { role: 'assistant', content: 'I have upgraded it to express.' },
      { role: 'assistant', content: 'Conversation handed back to Mia.' },
      { role: 'user', content: 'Thanks!' },
      { role: 'user', content: 'Can I change the address?' },
    ]);
  });

  it('with no history is system then the user message', () => {
    expect(buildPrompt(agent, [], 'Hello')).toEqual([
      { role: 'system', content: systemPrompt(agent) },
      { role: 'user', content: 'Hello' },
    ]);
  });

  it('does not reorder history', () => {
    const reversed = [...history].reverse();
    const contents = buildPrompt(agent, reversed, 'x').map((m) => m.content);
    expect(contents.slice(1, -1)).toEqual(reversed.filter((h) => h.text).map((h) => h.text));
  });
});

describe('unavailableReply', () => {
  it('names the agent', () => {
    const reply = unavailableReply('Mia');
    expect(reply).toContain('Mia is unavailable');
    expect(unavailableReply('Otto')).toContain('Otto');
    expect(unavailableReply('Otto')).not.toContain('Mia');
  });
});

describe('buildWindowPrompt', () => {
  const shop = { name: 'Wanda', role: '', persona: '', jobDescription: '', statementOfWork: '', systemPrompt: 'Be brief.', businessFunctions: ['returns'] };
  const memory = 'What you remember from earlier conversations:\n- "I am allergic to peanuts."';

  it('passes the window through as it is, tool calls with their results, then the new message', () => {
    const window = [
      { role: 'user' as const, content: 'what time is it?' },
      { role: 'assistant' as const, content: '', toolCalls: [{ id: 'call_1', name: 'current_time', arguments: {} }] },
      { role: 'tool' as const, toolCallId: 'call_1', name: 'current_time', content: '{"utc":"…"}' },
      { role: 'assistant' as const, content: 'It is noon.' },
    ];
    const messages = buildWindowPrompt(shop, window, 'thanks');
    expect(messages.slice(1, -1)).toEqual(window);
    expect(messages.at(-1)).toEqual({ role: 'user', content: 'thanks' });
  });

  it('puts recalled memories after the operator prompt and before the scope rules of a scoped channel', () => {
    const system = String(buildWindowPrompt(shop, [], 'hi', { channel: 'whatsapp', memory })[0]!.content);
    const at = (s: string) => system.indexOf(s);
    expect(at('Be brief.')).toBeLessThan(at(memory));
    expect(at(memory)).toBeLessThan(at(scopeInstructions(shop.businessFunctions)));
    expect(String(buildWindowPrompt(shop, [], 'hi', { channel: 'slack' })[0]!.content)).not.toContain('remember');
  });
});
