/**
 * Child process: Hive Gateway (`@graphql-hive/gateway`, its documented programmatic runtime on
 * Node's HTTP server) over the committed supergraph.graphql, with only the routing URLs
 * rewritten to the subgraph processes of this run. Everything else is Hive's defaults, plus
 * one option: the signed `x-konstruct-identity` header is passed from the client to every
 * subgraph, because Hive does not know our authentication and our subgraphs refuse requests
 * without it. Prints its URL and serves until SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { z } from 'zod';
import { createGatewayRuntime } from '@graphql-hive/gateway';
import { IDENTITY_HEADER, parseEnv } from '@konstruct/core';

const env = parseEnv(
  z.object({
    PORT: z.coerce.number().int().min(0),
    /** JSON: subgraph name (as in supergraph.yaml) → base URL. */
    HIVE_SUBGRAPH_URLS: z.string().transform((v) => z.record(z.string(), z.string().url()).parse(JSON.parse(v))),
  }),
  process.env,
);

function rewriteRoutingUrls(supergraph: string, urls: Record<string, string>): string {
  let out = supergraph;
  for (const [name, base] of Object.entries(urls)) {
    const re = new RegExp(`(@join__graph\\(name: "${name}", url: ")[^"]*(")`);
    if (!re.test(out)) throw new Error(`supergraph.graphql has no join__graph named ${name}`);
    out = out.replace(re, `$1${base}/graphql$2`);
  }
  return out;
}

const supergraph = rewriteRoutingUrls(readFileSync(new URL('../supergraph.graphql', import.meta.url), 'utf8'), env.HIVE_SUBGRAPH_URLS);

const gateway = createGatewayRuntime({
  supergraph,
  logging: 'warn',
  healthCheckEndpoint: '/healthz',
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }) => ({ [IDENTITY_HEADER]: request.headers.get(IDENTITY_HEADER) }),
  },
});

const server = createServer(gateway);
server.listen(env.PORT, '127.0.0.1', () => {
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : env.PORT;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  void Promise.resolve(gateway[Symbol.asyncDispose]()).finally(() => process.exit(0));
});
