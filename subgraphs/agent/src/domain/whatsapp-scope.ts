/**
 * Meta's WhatsApp Business terms (2026) do not allow general-purpose AI assistants, so an agent
 * answering on a WhatsApp number must keep declaring what it is for. Tenancy refuses to attach
 * an agent without business functions to WhatsApp; this is the other half.
 */
export const WHATSAPP_AGENT_NEEDS_FUNCTIONS =
  "businessFunctions cannot be emptied while the agent answers on WhatsApp (Meta's WhatsApp Business terms do not allow general-purpose AI assistants); detach its WhatsApp channel first or keep at least one business function";
