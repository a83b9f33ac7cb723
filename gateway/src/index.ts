import { startHealthServer, type Logger } from '@konstruct/core';
import type { GatewayConfig } from './env.ts';

export { loadEnv } from './env.ts';

/** The public GraphQL gateway. Serves health (ready when every subgraph is) until federation lands. */
export async function startGateway(config: GatewayConfig, _logger: Logger) {
  const checks = Object.fromEntries(
    Object.entries(config.subgraphs).map(([name, base]) => [
      name,
      async () => {
        const res = await fetch(new URL('/healthz', base), { signal: AbortSignal.timeout(1_500) });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
      },
    ]),
  );
  const health = await startHealthServer({ port: config.port, host: config.host, service: 'gateway', checks });
  return { url: health.url, close: () => health.close() };
}
