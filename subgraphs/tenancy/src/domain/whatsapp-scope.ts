/**
 * Meta's WhatsApp Business terms (2026) do not allow general-purpose AI assistants: an agent on
 * WhatsApp must be for stated business functions. The rule is enforced where an agent meets a
 * WhatsApp number — attaching one (tenancy) and emptying an attached agent's functions (agent
 * subgraph) — and the runner keeps each conversation within those functions.
 */
export const WHATSAPP_NEEDS_BUSINESS_FUNCTIONS =
  "a WhatsApp channel can only be attached to an agent that declares its business functions (Meta's WhatsApp Business terms do not allow general-purpose AI assistants); give the agent businessFunctions first";

export function agentFitsChannel(kind: 'slack' | 'whatsapp', businessFunctions: readonly string[]): { field: string; message: string } | null {
  if (kind === 'whatsapp' && !businessFunctions.some((f) => f.trim().length > 0)) {
    return { field: 'agentId', message: WHATSAPP_NEEDS_BUSINESS_FUNCTIONS };
  }
  return null;
}
