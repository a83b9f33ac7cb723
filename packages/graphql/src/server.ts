import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import express from 'express';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { GraphQLFormattedError, GraphQLSchema } from 'graphql';
import {
  IDENTITY_HEADER,
  KonstructError,
  checkReadiness,
  dependencyUnavailable,
  identityKey,
  verifyIdentity,
  type Logger,
  type SubgraphConfig,
} from '@konstruct/core';
import { createDb, type Db } from '@konstruct/db';
import { unauthenticated, type SubgraphContext } from './context.ts';

/** Codes whose message is meant for the caller; anything else is masked. */
const PUBLIC_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'PERSISTED_QUERY_NOT_FOUND',
  'BAD_REQUEST',
]);

export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  if (original instanceof KonstructError && original.code !== 'INTERNAL') {
    return { message: original.message, path: formatted.path, extensions: { code: original.code } };
  }
  const code = String(formatted.extensions?.code ?? 'INTERNAL_SERVER_ERROR');
  if (PUBLIC_CODES.has(code)) {
    return { message: formatted.message.replace(/^Context creation failed: /, ''), locations: formatted.locations, path: formatted.path, extensions: { code } };
  }
  return { message: 'Internal error', path: formatted.path, extensions: { code: 'INTERNAL' } };
}

/** Logs every unexpected error with its request id and stamps the id on each error sent back. */
function requestIdPlugin(logger: Logger): ApolloServerPlugin<SubgraphContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ contextValue, errors }) {
          for (const e of errors) {
            const original = unwrapResolverError(e);
            const code = (e.extensions?.code as string | undefined) ?? (original instanceof KonstructError ? original.code : 'INTERNAL');
            if (!PUBLIC_CODES.has(code) && !(original instanceof KonstructError && original.code !== 'INTERNAL')) {
              logger.error({ err: original, requestId: contextValue?.requestId, path: e.path }, 'unexpected error');
            }
          }
        },
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind === 'single' && response.body.singleResult.errors) {
            response.body.singleResult.errors = response.body.singleResult.errors.map((e) => ({
              ...e,
              extensions: { ...e.extensions, requestId: contextValue?.requestId },
            }));
          }
        },
      };
    },
  };
}

export interface SubgraphOptions<Extra extends object = object> {
  /** Added to every request's context (e.g. secrets a subgraph's resolvers need). */
  extraContext?: Extra;
  service: string;
  schema: GraphQLSchema;
  port: number;
  host: string;
  identitySecret: string;
  db: Db;
  logger: Logger;
  production: boolean;
  /** Largest request body accepted. */
  bodyLimit?: string;
}

/**
 * A subgraph over HTTP: `/graphql` answers only requests that carry a valid identity signed
 * by the gateway; `/healthz` and `/readyz` for the orchestrator.
 */
export async function startSubgraph<Extra extends object = object>(opts: SubgraphOptions<Extra>): Promise<{ url: string; close(): Promise<void> }> {
  const key = identityKey(opts.identitySecret);
  const apollo = new ApolloServer<SubgraphContext>({
    schema: opts.schema,
    formatError,
    includeStacktraceInErrorResponses: false,
    // The process's own signal handler closes everything in order; Apollo must not stop itself first.
    stopOnTerminationSignals: false,
    introspection: !opts.production,
    plugins: [requestIdPlugin(opts.logger), ApolloServerPluginLandingPageDisabled(), ApolloServerPluginInlineTraceDisabled()],
  });
  await apollo.start();

  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', service: opts.service });
  });
  app.get('/readyz', async (_req, res) => {
    const r = await checkReadiness({ postgres: () => opts.db.ping() });
    res.status(r.ready ? 200 : 503).json({ service: opts.service, ...r });
  });
  app.use(
    '/graphql',
    express.json({ limit: opts.bodyLimit ?? '256kb' }),
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        const token = req.headers[IDENTITY_HEADER];
        if (typeof token !== 'string' || !token) throw unauthenticated('requests must come through the gateway');
        let identity;
        try {
          identity = await verifyIdentity(key, token);
        } catch {
          throw unauthenticated('invalid gateway signature');
        }
        return { ...opts.extraContext, identity, requestId: identity.requestId || randomUUID(), db: opts.db, logger: opts.logger };
      },
    }),
  );

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port, opts.host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  return {
    url: `http://${opts.host}:${port}`,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await apollo.stop();
    },
  };
}

/** What each subgraph's `start…` does: connect the database, then serve its schema. */
export async function startSubgraphService<Extra extends object = object>(
  service: string,
  config: SubgraphConfig,
  schema: GraphQLSchema,
  logger: Logger,
  extraContext?: Extra,
): Promise<{ url: string; close(): Promise<void> }> {
  const db = createDb({ url: config.databaseUrl, poolSize: 5 });
  await db.ping().catch((e) => {
    throw dependencyUnavailable('Postgres', config.databaseUrl, e);
  });
  const sub = await startSubgraph({
    service,
    schema,
    port: config.port,
    host: config.host,
    identitySecret: config.gatewaySigningSecret,
    db,
    logger,
    production: config.nodeEnv === 'production',
    extraContext,
  });
  return {
    url: sub.url,
    async close() {
      await sub.close();
      await db.close();
    },
  };
}
