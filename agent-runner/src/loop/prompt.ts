import type { ChatMessage } from '../llm/types.ts';

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

/** The system prompt: who the employee is, then the operator's own instructions. */
export function systemPrompt(agent: AgentProfile): string {
  const parts = [`You are ${agent.name}${agent.role ? `, ${agent.role}` : ''}.`];
  if (agent.persona) parts.push(`Persona: ${agent.persona}`);
  if (agent.jobDescription) parts.push(`Job description: ${agent.jobDescription}`);
  if (agent.statementOfWork) parts.push(`Statement of work: ${agent.statementOfWork}`);
  if (agent.businessFunctions.length) parts.push(`You help with: ${agent.businessFunctions.join('; ')}.`);
  if (agent.systemPrompt) parts.push(agent.systemPrompt);
  return parts.join('\n\n');
}

/** System prompt, then the recent conversation oldest first, then the new message. */
export function buildPrompt(agent: AgentProfile, history: HistoryEntry[], incoming: string): ChatMessage[] {
  const messages: ChatMessage[] = [{ role: 'system', content: systemPrompt(agent) }];
  for (const h of history) {
    if (!h.text) continue;
    messages.push({ role: h.author === 'end_user' ? 'user' : 'assistant', content: h.text });
  }
  messages.push({ role: 'user', content: incoming });
  return messages;
}

export function unavailableReply(agentName: string): string {
  return `Sorry, ${agentName} is unavailable right now and can't answer. Please try again in a little while.`;
}
