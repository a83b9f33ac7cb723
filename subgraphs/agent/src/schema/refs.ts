import type { AgentRow } from '../data/agents.ts';
import type { ConversationRow, HandoffRow, MessageRow } from '../data/conversations.ts';
import type { EscalationRuleRow } from '../data/escalation-rules.ts';
import type { Page } from '../data/keyset.ts';
import type { ToolView } from '../data/tool-definitions.ts';
import { builder } from '../builder.ts';

/*
 * Every object ref is declared here and implemented in its own file, so the type files can
 * refer to each other without import cycles.
 */
export const AgentRef = builder.objectRef<AgentRow>('Agent');
export const ToolDefinitionRef = builder.objectRef<ToolView>('ToolDefinition');
export const EscalationRuleRef = builder.objectRef<EscalationRuleRow>('EscalationRule');
export const ConversationRef = builder.objectRef<ConversationRow>('Conversation');
export const MessageRef = builder.objectRef<MessageRow>('Message');
export const HandoffRef = builder.objectRef<HandoffRow>('Handoff');

function pageOf<T>(name: string, item: ReturnType<typeof builder.objectRef<T>>) {
  return builder.objectRef<Page<T>>(name).implement({
    description: `A page of ${item.name}s, newest first; pass nextCursor as \`after\` for the next page.`,
    fields: (t) => ({
      items: t.field({ type: [item], resolve: (p) => p.items }),
      nextCursor: t.exposeString('nextCursor', { nullable: true }),
    }),
  });
}

export const AgentPage = pageOf<AgentRow>('AgentPage', AgentRef);
export const ToolDefinitionPage = pageOf<ToolView>('ToolDefinitionPage', ToolDefinitionRef);
export const ConversationPage = pageOf<ConversationRow>('ConversationPage', ConversationRef);
export const MessagePage = pageOf<MessageRow>('MessagePage', MessageRef);
export const HandoffPage = pageOf<HandoffRow>('HandoffPage', HandoffRef);

/** A deleted row's id, for the client to drop it from its cache. */
function deletedType(name: string) {
  return builder.objectRef<{ __typename: string; id: string }>(name).implement({
    fields: (t) => ({ id: t.exposeID('id') }),
  });
}

export const DeletedAgent = deletedType('DeletedAgent');
export const DeletedToolDefinition = deletedType('DeletedToolDefinition');
export const DeletedEscalationRule = deletedType('DeletedEscalationRule');
