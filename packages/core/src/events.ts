import { z } from 'zod';

/**
 * Live events per tenant, published on Redis pub/sub by the processes that cause them and
 * delivered to GraphQL subscribers by the gateway. Small and id-based: subscribers resolve
 * anything else (agent names, …) through the API with their own permissions.
 */
export const TenantEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('usage'),
    tenantId: z.string().uuid(),
    agentId: z.string().uuid(),
    conversationId: z.string().uuid().nullable(),
    provider: z.string(),
    model: z.string(),
    inputTokens: z.number().int().nonnegative(),
    outputTokens: z.number().int().nonnegative(),
    costUsdMicros: z.string().regex(/^\d+$/),
    at: z.string().datetime({ offset: true }),
  }),
  z.object({
    type: z.literal('conversation'),
    tenantId: z.string().uuid(),
    conversationId: z.string().uuid(),
    agentId: z.string().uuid(),
    state: z.string(),
    lastMessageId: z.string().uuid().nullable(),
    at: z.string().datetime({ offset: true }),
  }),
  z.object({
    type: z.literal('escalation'),
    tenantId: z.string().uuid(),
    handoffId: z.string().uuid(),
    conversationId: z.string().uuid(),
    agentId: z.string().uuid(),
    reason: z.string(),
    at: z.string().datetime({ offset: true }),
  }),
  /**
   * A reply did not reach the end user and a person should look: `held` (kept, e.g. outside
   * WhatsApp's 24-hour window with no approved template) or `failed` (the vendor refused it).
   */
  z.object({
    type: z.literal('delivery_alert'),
    tenantId: z.string().uuid(),
    conversationId: z.string().uuid(),
    messageId: z.string().uuid(),
    channelKind: z.enum(['slack', 'whatsapp']),
    state: z.enum(['held', 'failed']),
    /** Vendor error code, e.g. WhatsApp `131047`. */
    code: z.string().nullable(),
    reason: z.string(),
    at: z.string().datetime({ offset: true }),
  }),
]);
export type TenantEvent = z.infer<typeof TenantEvent>;

/** One Redis channel per tenant, so a gateway subscribes only to tenants someone is watching. */
export function tenantEventsChannel(keyPrefix: string, tenantId: string): string {
  return `${keyPrefix}events:${tenantId}`;
}
