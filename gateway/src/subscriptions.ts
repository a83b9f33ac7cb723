import type { Server } from 'node:http';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import {
  GraphQLError,
  GraphQLID,
  GraphQLInt,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  Kind,
  OperationTypeNode,
  getOperationAST,
  parse,
  print,
  validate,
  type FieldNode,
  type GraphQLFieldConfigMap,
  type GraphQLResolveInfo,
} from 'graphql';
import type { ApolloServer } from '@apollo/server';
import type { Identity, Logger, TenantEvent } from '@konstruct/core';
import type { Authenticator } from './auth.ts';
import type { TenantEvents } from './tenant-events.ts';
import type { GatewayContext } from './server.ts';

interface SubscriptionDeps {
  httpServer: Server;
  path: string;
  apiSchema: () => GraphQLSchema;
  apollo: ApolloServer<GatewayContext>;
  auth: Authenticator;
  events: TenantEvents;
  logger: Logger;
}

type ConnectionExtra = { params: Record<string, string> };

/**
 * Runs `{ agent(id) { <the subscriber's selection> } }` through the gateway as the subscriber,
 * so fields of an event's entities come from the subgraphs with the subscriber's permissions.
 */
async function resolveThroughGateway(
  apollo: ApolloServer<GatewayContext>,
  identity: Identity,
  root: 'agent' | 'conversation',
  id: string,
  info: GraphQLResolveInfo,
): Promise<unknown> {
  const field = info.fieldNodes[0] as FieldNode;
  if (!field.selectionSet) return { id };
  const fragments = Object.values(info.fragments).map((f) => print(f)).join('\n');
  const query = `query($id: ID!) { ${root}(id: $id) ${print(field.selectionSet)} }\n${fragments}`;
  const res = await apollo.executeOperation({ query, variables: { id } }, { contextValue: { identity } });
  if (res.body.kind !== 'single') return null;
  const { data, errors } = res.body.singleResult;
  if (errors?.length) throw new GraphQLError(errors[0]!.message, { extensions: errors[0]!.extensions });
  return (data as Record<string, unknown> | null)?.[root] ?? null;
}

/** The subscription schema: the gateway's API schema plus `Subscription` and event types. */
function buildSubscriptionSchema(apiSchema: GraphQLSchema, deps: SubscriptionDeps): GraphQLSchema {
  const Agent = apiSchema.getType('Agent') as GraphQLObjectType | undefined;
  const Conversation = apiSchema.getType('Conversation') as GraphQLObjectType | undefined;
  const ctxIdentity = (ctx: unknown) => (ctx as { identity: Identity }).identity;

  const entityField = (root: 'agent' | 'conversation', type: GraphQLObjectType | undefined, key: 'agentId' | 'conversationId') =>
    type
      ? {
          [root]: {
            type,
            resolve: (e: Record<string, string>, _a: unknown, ctx: unknown, info: GraphQLResolveInfo) =>
              e[key] ? resolveThroughGateway(deps.apollo, ctxIdentity(ctx), root, e[key]!, info) : null,
          },
        }
      : {};

  const UsageEvent = new GraphQLObjectType({
    name: 'UsageEvent',
    description: 'Tokens and cost of one model call, as the runner records it.',
    fields: () => ({
      tenantId: { type: new GraphQLNonNull(GraphQLID) },
      agentId: { type: new GraphQLNonNull(GraphQLID) },
      conversationId: { type: GraphQLID },
      provider: { type: new GraphQLNonNull(GraphQLString) },
      model: { type: new GraphQLNonNull(GraphQLString) },
      inputTokens: { type: new GraphQLNonNull(GraphQLInt) },
      outputTokens: { type: new GraphQLNonNull(GraphQLInt) },
      costUsdMicros: { type: new GraphQLNonNull(GraphQLString) },
      at: { type: new GraphQLNonNull(GraphQLString) },
      ...entityField('agent', Agent, 'agentId'),
    }),
  });
  const ConversationEvent = new GraphQLObjectType({
    name: 'ConversationEvent',
    fields: () => ({
      tenantId: { type: new GraphQLNonNull(GraphQLID) },
      conversationId: { type: new GraphQLNonNull(GraphQLID) },
      agentId: { type: new GraphQLNonNull(GraphQLID) },
      state: { type: new GraphQLNonNull(GraphQLString) },
      lastMessageId: { type: GraphQLID },
      at: { type: new GraphQLNonNull(GraphQLString) },
      ...entityField('conversation', Conversation, 'conversationId'),
    }),
  });
  const EscalationEvent = new GraphQLObjectType({
    name: 'EscalationEvent',
    fields: () => ({
      tenantId: { type: new GraphQLNonNull(GraphQLID) },
      handoffId: { type: new GraphQLNonNull(GraphQLID) },
      conversationId: { type: new GraphQLNonNull(GraphQLID) },
      agentId: { type: new GraphQLNonNull(GraphQLID) },
      reason: { type: new GraphQLNonNull(GraphQLString) },
      at: { type: new GraphQLNonNull(GraphQLString) },
      ...entityField('conversation', Conversation, 'conversationId'),
    }),
  });

  const DeliveryAlertEvent = new GraphQLObjectType({
    name: 'DeliveryAlertEvent',
    description: 'A reply did not reach the customer and a person should look: held (e.g. outside WhatsApp’s 24-hour window with no template) or failed.',
    fields: () => ({
      tenantId: { type: new GraphQLNonNull(GraphQLID) },
      conversationId: { type: new GraphQLNonNull(GraphQLID) },
      messageId: { type: new GraphQLNonNull(GraphQLID) },
      channelKind: { type: new GraphQLNonNull(GraphQLString) },
      state: { type: new GraphQLNonNull(GraphQLString) },
      code: { type: GraphQLString, description: 'The vendor’s error code, e.g. WhatsApp 131047.' },
      reason: { type: new GraphQLNonNull(GraphQLString) },
      at: { type: new GraphQLNonNull(GraphQLString) },
      ...entityField('conversation', Conversation, 'conversationId'),
    }),
  });

  const field = (type: GraphQLObjectType, eventType: TenantEvent['type'], description: string) => ({
    type: new GraphQLNonNull(type),
    description,
    args: { tenantId: { type: new GraphQLNonNull(GraphQLID) } },
    subscribe: (_root: unknown, args: { tenantId: string }) => deps.events.stream(String(args.tenantId), eventType),
    resolve: (event: unknown) => event,
  });
  const subscriptionFields: GraphQLFieldConfigMap<unknown, unknown> = {
    usageUpdated: field(UsageEvent, 'usage', 'Tokens and cost per agent, as each model call is settled.'),
    conversationUpdated: field(ConversationEvent, 'conversation', 'A conversation got a new message or changed state.'),
    escalationRaised: field(EscalationEvent, 'escalation', 'The employee handed a conversation to a person.'),
    deliveryAlertRaised: field(DeliveryAlertEvent, 'delivery_alert', 'A reply was held or failed to reach the customer.'),
  };
  const config = apiSchema.toConfig();
  return new GraphQLSchema({
    ...config,
    subscription: new GraphQLObjectType({ name: 'Subscription', fields: subscriptionFields }),
    types: [...config.types.filter((t) => t.name !== 'Subscription'), UsageEvent, ConversationEvent, EscalationEvent, DeliveryAlertEvent],
  });
}

/**
 * GraphQL subscriptions over graphql-ws on the gateway's own path. The connection is
 * authenticated in `connection_init` (`authorization` or `apiKey` in its payload); each
 * subscription's tenant must be one the caller may act on.
 */
export function startSubscriptions(deps: SubscriptionDeps) {
  const wss = new WebSocketServer({ server: deps.httpServer, path: deps.path });
  let cached: { api: GraphQLSchema; full: GraphQLSchema } | null = null;
  const schema = () => {
    const api = deps.apiSchema();
    if (cached?.api !== api) cached = { api, full: buildSubscriptionSchema(api, deps) };
    return cached.full;
  };

  const headersFrom = (params: Record<string, string>, tenantId?: string) => ({
    authorization: params.authorization ?? params.Authorization,
    'x-api-key': params.apiKey ?? params['x-api-key'],
    ...(tenantId ? { 'x-konstruct-tenant': tenantId } : {}),
  });

  const server = useServer<Record<string, string>, ConnectionExtra>(
    {
      schema,
      onConnect: async (ctx) => {
        const params = (ctx.connectionParams ?? {}) as Record<string, string>;
        try {
          const identity = await deps.auth.identify(headersFrom(params));
          if (identity.actor.kind === 'anonymous') return false;
        } catch {
          return false;
        }
        ctx.extra.params = params;
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        const document = parse(payload.query);
        const op = getOperationAST(document, payload.operationName);
        if (op?.operation !== OperationTypeNode.SUBSCRIPTION)
          return [new GraphQLError('only subscriptions run over WebSocket; send queries and mutations over HTTP')];
        const errors = validate(schema(), document);
        if (errors.length) return errors;
        const tenantArg = op.selectionSet.selections
          .flatMap((s) => (s.kind === Kind.FIELD ? (s.arguments ?? []) : []))
          .find((a) => a.name.value === 'tenantId');
        let tenantId: string | undefined;
        if (tenantArg?.value.kind === Kind.STRING) tenantId = tenantArg.value.value;
        else if (tenantArg?.value.kind === Kind.VARIABLE) tenantId = String(payload.variables?.[tenantArg.value.name.value] ?? '');
        let identity: Identity;
        try {
          identity = await deps.auth.identify(headersFrom(ctx.extra.params ?? {}, tenantId));
        } catch (e) {
          return [new GraphQLError((e as Error).message, { extensions: (e as GraphQLError).extensions })];
        }
        if (!identity.tenant || identity.tenant.id !== tenantId?.toLowerCase())
          return [new GraphQLError('you may not watch that tenant', { extensions: { code: 'FORBIDDEN' } })];
        return {
          schema: schema(),
          document,
          variableValues: payload.variables ?? undefined,
          operationName: payload.operationName ?? undefined,
          contextValue: { identity },
        };
      },
    },
    wss,
  );
  return {
    async close() {
      await server.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
