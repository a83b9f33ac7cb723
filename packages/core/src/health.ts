import { createServer, type Server } from 'node:http';

export type ReadinessCheck = () => Promise<void>;

/** Runs every dependency check; readiness reports each by name so an operator sees which is down. */
export async function checkReadiness(checks: Record<string, ReadinessCheck>, timeoutMs = 2_000) {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return [name, 'ok'] as const;
      } catch (e) {
        return [name, e instanceof Error ? e.message : String(e)] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const status = Object.fromEntries(entries);
  return { ready: entries.every(([, v]) => v === 'ok'), checks: status };
}

/**
 * A bare HTTP server with `/healthz` (the process is alive) and `/readyz` (its dependencies
 * answer), for processes that have no other HTTP surface yet.
 */
export async function startHealthServer(opts: {
  port: number;
  host?: string;
  service: string;
  checks?: Record<string, ReadinessCheck>;
}): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer(async (req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', service: opts.service }));
      return;
    }
    if (req.url === '/readyz') {
      const r = await checkReadiness(opts.checks ?? {});
      res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ service: opts.service, ...r }));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  return {
    server,
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
