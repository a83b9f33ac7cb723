import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleepFor } from 'node:timers/promises';

export interface RecordedRequest {
  method: string;
  /** Pathname only; the query string is in `query`. */
  path: string;
  /** Query string parameters (last value wins), e.g. of a browser GET such as Slack's OAuth authorize page. */
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Decoded by content-type (JSON or urlencoded form); undefined when empty or unparseable. */
  body: unknown;
  rawBody: string;
  /** performance.now() when the request line arrived, for latency assertions. */
  receivedAt: number;
  receivedAtEpochMs: number;
}

export interface FakeServer {
  url: string;
  close(): Promise<void>;
  requests: RecordedRequest[];
}

export interface HandlerTools {
  /** Resolves false instead of sleeping on when the server is closed, so delayed replies never outlive a test. */
  sleep(ms: number): Promise<boolean>;
}

export type Handler = (req: RecordedRequest, res: ServerResponse, tools: HandlerTools) => void | Promise<void>;

export function parseBody(contentType: string | undefined, raw: string): unknown {
  if (raw === '') return undefined;
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (mediaType === 'application/x-www-form-urlencoded') return Object.fromEntries(new URLSearchParams(raw));
  if (mediaType === 'application/json' || mediaType.endsWith('+json')) {
    try {
      return JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(payload)),
    ...headers,
  });
  res.end(payload);
}

export async function startRecordingServer(port: number, handler: Handler): Promise<FakeServer> {
  const requests: RecordedRequest[] = [];
  const shutdown = new AbortController();
  const tools: HandlerTools = {
    sleep: (ms) =>
      sleepFor(ms, undefined, { signal: shutdown.signal }).then(
        () => true,
        () => false,
      ),
  };

  const server = createServer((req, res) => {
    const receivedAt = performance.now();
    const receivedAtEpochMs = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://fake.invalid');
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body: parseBody(req.headers['content-type'], rawBody),
        rawBody,
        receivedAt,
        receivedAtEpochMs,
      };
      requests.push(recorded);
      // A bug in a fake should fail the test loudly with a stack, not hang the client.
      Promise.resolve()
        .then(() => handler(recorded, res, tools))
        .catch((err: unknown) => {
          if (res.destroyed) return;
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`fake server handler crashed: ${err instanceof Error ? err.stack : String(err)}`);
        });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: boundPort } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve) => {
      shutdown.abort();
      server.close(() => resolve());
      // SDK fetch clients keep connections alive; without this close() waits for their idle timeout.
      server.closeAllConnections();
    }));

  return { url: `http://127.0.0.1:${boundPort}`, close, requests };
}
