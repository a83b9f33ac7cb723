import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { Redis } from 'ioredis';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import {
  IDENTITY_HEADER,
  checkReadiness,
  dependencyUnavailable,
  identityKey,
  signIdentity,
  type Identity,
  type Logger,
} from '@konstruct/core';
import { createDb } from '@konstruct/db';
import type { GatewayConfig } from './env.ts';
import { Authenticator } from './auth.ts';
import { RateLimiter } from './rate-limit.ts';
import { TenantEvents } from './tenant-events.ts';
import { startSubscriptions } from './subscriptions.ts';
import type { GraphQLSchema } from 'graphql';
import type { KeyObject } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import nodeFetch from 'node-fetch';
import { apolloRequestHandler, parseByteLimit, sendJson } from './http-front.ts';

export interface GatewayContext {
  identity: Identity;
  /** The identity signed for the subgraphs, once per request (absent: signed on first use). */
  signedIdentity?: string;
}

const SUPERGRAPH = new URL('../../supergraph.graphql', import.meta.url);

/**
 * Subgraph requests over a keep-alive HTTP agent. Apollo's default fetcher opens a
 * connection per request; node-fetch on a pooled agent costs less CPU per call than the
 * global fetch (undici) here — measured in bench/RESULTS.md.
 */
const subgraphAgent = new HttpAgent({ keepAlive: true, maxSockets: 256 });
const keepAliveFetch = (url: string, init?: RequestInit) => nodeFetch(url, { ...(init as object), agent: subgraphAgent });

/** Forwards each subgraph request with the caller's identity, signed for the subgraph. */
class SignedIdentityDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    url: string,
    private readonly key: KeyObject,
  ) {
    super({ url, fetcher: keepAliveFetch as never });
  }

  override async willSendRequest({ request, context }: Parameters<NonNullable<RemoteGraphQLDataSource<GatewayContext>['willSendRequest']>>[0]) {
    if (!context.identity) return;
    context.signedIdentity ??= await signIdentity(this.key, context.identity);
    request.http?.headers.set(IDENTITY_HEADER, context.signedIdentity);
  }
}

const PASS_THROUGH = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'RATE_LIMITED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'OPERATION_RESOLUTION_FAILURE',
  'VALIDATION',
  'NOT_FOUND',
  'CONFLICT',
  'INTERNAL',
]);

/** Errors say what was wrong; anything unexpected becomes a code and the request id. */
function formatError(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const code = String(formatted.extensions?.code ?? 'INTERNAL');
  const requestId = formatted.extensions?.requestId;
  if (PASS_THROUGH.has(code) && code !== 'INTERNAL') {
    return { message: formatted.message.replace(/^Context creation failed: /, ''), locations: formatted.locations, path: formatted.path, extensions: { code, ...(requestId ? { requestId } : {}) } };
  }
  return { message: 'Internal error', path: formatted.path, extensions: { code: 'INTERNAL', ...(requestId ? { requestId } : {}) } };
}

function requestIdPlugin(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind === 'single' && response.body.singleResult.errors) {
            response.body.singleResult.errors = response.body.singleResult.errors.map((e) => ({
              ...e,
              extensions: { ...e.extensions, requestId: contextValue?.identity?.requestId },
            }));
          }
        },
      };
    },
  };
}

/** The public GraphQL API: one endpoint over the five subgraphs. */
export async function startGateway(config: GatewayConfig, logger: Logger) {
  const production = config.nodeEnv === 'production';
  const db = createDb({ url: config.databaseUrl, poolSize: 5 });
  await db.ping().catch((e) => {
    throw dependencyUnavailable('Postgres', config.databaseUrl, e);
  });
  const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect().catch((e) => {
    redis.disconnect();
    throw dependencyUnavailable('Redis', config.redisUrl, e);
  });
  const limiter = new RateLimiter(redis, config.redisKeyPrefix);
  const auth = new Authenticator(db, config.jwtSecret);
  const key = identityKey(config.signingSecret);

  const gateway = new ApolloGateway({
    supergraphSdl: readFileSync(SUPERGRAPH, 'utf8'),
    buildService: ({ name, url }) =>
      new SignedIdentityDataSource(config.subgraphs[name as keyof GatewayConfig['subgraphs']] ? `${config.subgraphs[name as keyof GatewayConfig['subgraphs']]}/graphql` : url!, key),
  });

  let apiSchema: GraphQLSchema | null = null;
  gateway.onSchemaLoadOrUpdate(({ apiSchema: s }) => {
    apiSchema = s;
  });
  const subscriber = redis.duplicate();
  const events = new TenantEvents(subscriber, config.redisKeyPrefix, logger);

  const armor = new ApolloArmor({
    maxDepth: { n: 10 },
    maxAliases: { n: 15 },
    // Token counting is done by graphql's parser below, which answers 400 like any syntax error.
    maxTokens: { enabled: false },
    maxDirectives: { n: 20 },
    costLimit: { maxCost: 5000 },
    blockFieldSuggestion: { enabled: production },
  }).protect();

  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    introspection: !production,
    formatError,
    includeStacktraceInErrorResponses: false,
    // The process's own signal handler closes everything in order; Apollo must not stop itself first.
    stopOnTerminationSignals: false,
    allowBatchedHttpRequests: false,
    parseOptions: { maxTokens: 2000 },
    validationRules: armor.validationRules,
    plugins: [...armor.plugins, requestIdPlugin(), ApolloServerPluginLandingPageDisabled()],
  });
  await apollo.start();

  const readiness = async () => {
    const checks = Object.fromEntries(
      Object.entries(config.subgraphs).map(([name, base]) => [
        name,
        async () => {
          const r = await fetch(new URL('/healthz', base), { signal: AbortSignal.timeout(1_500) });
          if (!r.ok) throw new Error(`HTTP ${r.status}`);
        },
      ]),
    );
    return checkReadiness({ ...checks, postgres: () => db.ping(), redis: async () => void (await redis.ping()) });
  };

  const graphql = apolloRequestHandler(apollo, {
    bodyLimit: parseByteLimit(config.bodyLimit),
    bodyLimitText: config.bodyLimit,
    context: async (req) => {
      const identity = await auth.identify(req.headers);
      const subject =
        identity.actor.kind === 'anonymous' ? `anon:${req.socket.remoteAddress ?? 'unknown'}` : `${identity.actor.kind}:${identity.actor.id}`;
      const perMinute = identity.actor.kind === 'anonymous' ? config.rateLimit.anonymousPerMinute : config.rateLimit.perMinute;
      const decision = await limiter.take(subject, perMinute);
      if (!decision.allowed) {
        const seconds = String(Math.ceil(decision.retryAfterMs / 1000));
        // Apollo Server reads response headers from a Map here; other GraphQL servers'
        // type declarations describe a plain object, hence the cast.
        const http = { status: 429, headers: new Map([['retry-after', seconds]]) } as unknown as { status: number };
        throw new GraphQLError(`rate limit exceeded; retry in ${seconds} s`, { extensions: { code: 'RATE_LIMITED', http } });
      }
      return { identity };
    },
  });

  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const search = q < 0 ? '' : url.slice(q + 1);
    const route =
      path === '/graphql'
        ? graphql(req, res, search)
        : path === '/healthz' && req.method === 'GET'
          ? Promise.resolve(sendJson(res, 200, { status: 'ok', service: 'gateway' }))
          : path === '/readyz' && req.method === 'GET'
            ? readiness().then((r) => sendJson(res, r.ready ? 200 : 503, { service: 'gateway', ...r }))
            : Promise.resolve(sendJson(res, 404, { error: `no route ${req.method} ${path}` }));
    route.catch((err: unknown) => {
      logger.error({ err, path }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'Internal error', extensions: { code: 'INTERNAL' } }] });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const subscriptions = startSubscriptions({
    httpServer: server,
    path: '/graphql',
    apiSchema: () => {
      if (!apiSchema) throw new Error('supergraph not loaded');
      return apiSchema;
    },
    apollo,
    auth,
    events,
    logger,
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  logger.debug({ port }, 'gateway listening');
  return {
    url: `http://${config.host}:${port}`,
    async close() {
      await subscriptions.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await apollo.stop();
      subscriber.disconnect();
      redis.disconnect();
      await db.close();
    },
  };
}
