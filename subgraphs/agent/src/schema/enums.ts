import { builder } from '../builder.ts';

/*
 * GraphQL enums in the usual UPPER_CASE, mapped onto the database's lowercase values so
 * resolvers pass them to Prisma unchanged.
 */
function enumOf<const V extends string>(name: string, values: readonly V[], description?: string) {
  return builder.enumType(name, {
    description,
    values: Object.fromEntries(values.map((v) => [v.toUpperCase(), { value: v }])) as Record<Uppercase<V>, { value: V }>,
  });
}

export const AgentStatusEnum = enumOf('AgentStatus', ['active', 'paused', 'archived']);
export const BudgetExhaustedActionEnum = enumOf(
  'BudgetExhaustedAction',
  ['refuse', 'cheaper_model', 'handoff'],
  'What an agent does when its budget runs out.',
);
export const ToolKindEnum = enumOf('ToolKind', ['builtin', 'http']);
export const EscalationTriggerEnum = enumOf('EscalationTrigger', [
  'keyword',
  'pattern',
  'user_request',
  'tool_failures',
  'budget_exhausted',
  'model_decides',
]);
export const ChannelKindEnum = enumOf('ChannelKind', ['slack', 'whatsapp']);
export const ConversationStateEnum = enumOf('ConversationState', ['active', 'paused', 'closed']);
export const MessageDirectionEnum = enumOf('MessageDirection', ['inbound', 'outbound']);
export const MessageAuthorEnum = enumOf('MessageAuthor', ['end_user', 'agent', 'human', 'system']);
export const DeliveryStateEnum = enumOf('DeliveryState', ['received', 'pending', 'sending', 'sent', 'delivered', 'read', 'failed', 'held']);
export const HandoffStatusEnum = enumOf('HandoffStatus', ['open', 'released']);
