import type { ChannelKind } from '@konstruct/core';
import type { ChatMessage } from '../llm/types.ts';
import { isScopedChannel, scopeInstructions } from '../scoping/scope-step.ts';

export interface AgentProfile {
  name: string;
  role: string;
  persona: string;
  jobDescription: string;
  statementOfWork: string;
  systemPrompt: string;
  businessFunctions: string[];
}

export interface HistoryEntry {
  author: 'end_user' | 'agent' | 'human' | 'system';
  text: string;
}

/**
 * The system prompt: who the employee is, then the operator's own instructions; on a scoped
 * channel (WhatsApp) the business functions it must keep to come last, so they are not
 * overridden by the instructions before them.
 */
export function systemPrompt(agent: AgentProfile, opts: { channel?: ChannelKind; memory?: string | null } = {}): string {
  const parts = [`You are ${agent.name}${agent.role ? `, ${agent.role}` : ''}.`];
  if (agent.persona) parts.push(`Persona: ${agent.persona}`);
  if (agent.jobDescription) parts.push(`Job description: ${agent.jobDescription}`);
  if (agent.statementOfWork) parts.push(`Statement of work: ${agent.statementOfWork}`);
  if (agent.businessFunctions.length) parts.push(`You help with: ${agent.businessFunctions.join('; ')}.`);
  if (agent.systemPrompt) parts.push(agent.systemPrompt);
  // Recalled memories are notes about the customer, below the operator's instructions and
  // above the scope rules, so neither can be overridden by them.
  if (opts.memory) parts.push(opts.memory);
  if (opts.channel && isScopedChannel(opts.channel)) parts.push(scopeInstructions(agent.businessFunctions));
  return parts.join('\n\n');
}

/** System prompt, then the recent conversation oldest first, then the new message. */
export function buildPrompt(
  agent: AgentProfile,
  history: HistoryEntry[],
  incoming: string,
  opts: { channel?: ChannelKind } = {},
): ChatMessage[] {
  const messages: ChatMessage[] = [{ role: 'system', content: systemPrompt(agent, opts) }];
  for (const h of history) {
    if (!h.text) continue;
    messages.push({ role: h.author === 'end_user' ? 'user' : 'assistant', content: h.text });
  }
  messages.push({ role: 'user', content: incoming });
  return messages;
}

/**
 * The prompt from the conversation window (which keeps tool calls with their results) and the
 * memories recalled for this message, then the new message.
 */
export function buildWindowPrompt(
  agent: AgentProfile,
  window: readonly Exclude<ChatMessage, { role: 'system' }>[],
  incoming: string,
  opts: { channel?: ChannelKind; memory?: string | null } = {},
): ChatMessage[] {
  return [{ role: 'system', content: systemPrompt(agent, opts) }, ...window, { role: 'user', content: incoming }];
}

export function unavailableReply(agentName: string): string {
  return `Sorry, ${agentName} is unavailable right now and can't answer. Please try again in a little while.`;
}
