import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer, type BaseContext, type HTTPGraphQLRequest } from '@apollo/server';

/** `100kb` / `1mb` → bytes. */
export function parseByteLimit(limit: string): number {
  const m = /^(\d+)(kb|mb)$/.exec(limit);
  if (!m) throw new Error(`invalid byte limit "${limit}"`);
  return Number(m[1]) * (m[2] === 'mb' ? 1024 * 1024 : 1024);
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads the body up to `limit` bytes. A longer body is refused; the rest of it is read and
 * discarded (so the client still receives the 413) up to a hard cap, past which the
 * connection is dropped.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  const tooLarge = () => new HttpError(413, 'request body too large');
  if (Number.isFinite(declared) && declared > limit) {
    discard(req, limit);
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        discard(req, limit);
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => {
      if (size <= limit) resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

function discard(req: IncomingMessage, limit: number) {
  let drained = 0;
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > limit * 10) req.destroy();
  });
  req.resume();
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * Apollo Server on Node's HTTP server without a web framework in between: the gateway serves
 * one path, and per-request framework work (routing tables, body-parser, response helpers)
 * was measurable CPU on the hot path (bench/RESULTS.md). Apollo does the GraphQL-over-HTTP
 * part itself, including its CSRF preflight rule.
 */
export function apolloRequestHandler<C extends BaseContext>(
  apollo: ApolloServer<C>,
  opts: { bodyLimit: number; bodyLimitText: string; context: (req: IncomingMessage) => Promise<C> },
) {
  return async (req: IncomingMessage, res: ServerResponse, search: string): Promise<void> => {
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    let body: unknown = undefined;
    if (req.method === 'POST') {
      let raw: string;
      try {
        raw = await readBody(req, opts.bodyLimit);
      } catch (e) {
        if (e instanceof HttpError) {
          sendJson(res, e.status, { errors: [{ message: `request body larger than ${opts.bodyLimitText}`, extensions: { code: 'BAD_REQUEST' } }] }, { connection: 'close' });
          return;
        }
        throw e;
      }
      const type = headers.get('content-type') ?? '';
      if (type.startsWith('application/json') || type.includes('+json')) {
        try {
          body = raw.length ? JSON.parse(raw) : undefined;
        } catch {
          sendJson(res, 400, { errors: [{ message: 'request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }] });
          return;
        }
      } else {
        body = raw;
      }
    }
    const httpGraphQLRequest: HTTPGraphQLRequest = { method: req.method ?? 'GET', headers, search, body };
    const result = await apollo.executeHTTPGraphQLRequest({ httpGraphQLRequest, context: () => opts.context(req) });
    const out: Record<string, string> = {};
    for (const [key, value] of result.headers) out[key] = value;
    if (result.body.kind === 'complete') {
      out['content-length'] = String(Buffer.byteLength(result.body.string));
      res.writeHead(result.status ?? 200, out);
      res.end(result.body.string);
      return;
    }
    res.writeHead(result.status ?? 200, out);
    for await (const chunk of result.body.asyncIterator) res.write(chunk);
    res.end();
  };
}
