import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { checkAddress } from './address-policy.ts';
import type { ToolErrorCode } from './types.ts';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Name → every address it resolves to. Injectable so tests can play DNS tricks. */
export type ResolveHost = (hostname: string) => Promise<ResolvedAddress[]>;

/** The operating system's resolver (getaddrinfo: /etc/hosts, then DNS), every address of both families. */
export const systemResolver: ResolveHost = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

export interface GuardedRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** Private, loopback and link-local targets (and plain http) allowed: tool flag AND runner flag. */
  allowPrivate: boolean;
  maxResponseBytes: number;
  /** For the whole exchange: resolving, connecting, sending and reading the body. */
  timeoutMs: number;
  signal?: AbortSignal;
  resolve: ResolveHost;
}

export type GuardedResponse =
  | {
      ok: true;
      status: number;
      headers: IncomingHttpHeaders;
      /** At most `maxResponseBytes`. */
      body: Buffer;
      /** The endpoint sent (or announced) more than `maxResponseBytes`; reading stopped there. */
      truncated: boolean;
      /** The address connected to. */
      address: string;
    }
  | { ok: false; code: ToolErrorCode; message: string };

class Failure extends Error {
  constructor(
    readonly code: ToolErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * One HTTP exchange with a tenant's endpoint, safe against server-side request forgery: the
 * host is resolved here, every address it resolves to is checked, and the connection goes to
 * the checked address (pinned through `lookup`, with the original name kept for Host and TLS),
 * so a second DNS answer cannot swap in a private address. No connection pooling (a pooled
 * socket could outlive the check) and no redirects (a redirect could point anywhere; the
 * caller sees the 3xx). Expected failures come back as `{ ok: false }`; this never throws.
 */
export async function guardedRequest(req: GuardedRequest): Promise<GuardedResponse> {
  const timeout = AbortSignal.timeout(req.timeoutMs);
  const signal = req.signal ? AbortSignal.any([timeout, req.signal]) : timeout;
  const abortFailure = () =>
    timeout.aborted
      ? new Failure('timeout', `the tool did not answer within ${req.timeoutMs} ms`)
      : new Failure('aborted', 'the call was cancelled');
  try {
    if (signal.aborted) throw abortFailure();
    const { url } = req;
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && req.allowPrivate))
      throw new Failure('insecure_url', `the tool URL must use https (got ${url.protocol.replace(':', '')})`);
    if (url.username || url.password) throw new Failure('insecure_url', 'the tool URL must not carry credentials');

    const host = url.hostname.replace(/^\[|\]$/g, '');
    const addresses = await withSignal(resolveAll(host, req.resolve), signal, abortFailure);
    for (const a of addresses) {
      const verdict = checkAddress(a.address, req.allowPrivate);
      if (!verdict.allowed)
        throw new Failure(
          'refused_address',
          `the tool's host ${host} resolves to ${a.address} (${verdict.range}), which tools may not reach` +
            (verdict.metadata ? '' : ' unless private networks are allowed for development'),
        );
    }
    const pinned = addresses[0]!;
    return await exchange(req, pinned, signal, abortFailure);
  } catch (e) {
    if (e instanceof Failure) return { ok: false, code: e.code, message: e.message };
    if (signal.aborted) {
      const f = abortFailure();
      return { ok: false, code: f.code, message: f.message };
    }
    return { ok: false, code: 'network_error', message: describeNetworkError(e) };
  }
}

async function resolveAll(host: string, resolve: ResolveHost): Promise<ResolvedAddress[]> {
  const family = isIP(host);
  if (family) return [{ address: host, family: family === 6 ? 6 : 4 }];
  let found: ResolvedAddress[];
  try {
    found = await resolve(host);
  } catch (e) {
    throw new Failure('dns_error', `the tool's host ${host} could not be resolved (${(e as { code?: string }).code ?? 'error'})`);
  }
  if (!found.length) throw new Failure('dns_error', `the tool's host ${host} has no addresses`);
  return found;
}

function withSignal<T>(p: Promise<T>, signal: AbortSignal, failure: () => Failure): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(failure());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function exchange(req: GuardedRequest, pinned: ResolvedAddress, signal: AbortSignal, abortFailure: () => Failure): Promise<GuardedResponse> {
  // Node passes `all: true` when it races address families (autoSelectFamily); answer both forms.
  const lookup = ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address: pinned.address, family: pinned.family }]);
    else callback(null, pinned.address, pinned.family);
  }) as unknown as LookupFunction;
  const send = req.url.protocol === 'https:' ? httpsRequest : httpRequest;
  const max = req.maxResponseBytes;

  return new Promise<GuardedResponse>((resolve, reject) => {
    let settled = false;
    let response: IncomingMessage | undefined;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      fn();
    };
    const fail = (e: unknown) => finish(() => reject(e));
    const onAbort = () => {
      fail(abortFailure());
      request.destroy();
      response?.destroy();
    };

    const request = send(req.url, { method: req.method, headers: req.headers, lookup, agent: false }, (res) => {
      response = res;
      const chunks: Buffer[] = [];
      let received = 0;
      const done = (truncated: boolean) =>
        finish(() =>
          resolve({ ok: true, status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), truncated, address: pinned.address }),
        );
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > max) {
        done(true);
        res.destroy();
        return;
      }
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        if (received + chunk.length > max) {
          chunks.push(chunk.subarray(0, max - received));
          received = max;
          done(true);
          res.destroy();
          return;
        }
        chunks.push(chunk);
        received += chunk.length;
      });
      res.on('end', () => done(false));
      res.on('error', fail);
      res.on('aborted', () => fail(new Failure('network_error', 'the tool closed the connection before the response was complete')));
    });
    request.on('error', fail);
    signal.addEventListener('abort', onAbort, { once: true });
    if (req.body !== undefined) request.write(req.body);
    request.end();
  });
}

function describeNetworkError(e: unknown): string {
  const code = (e as { code?: string }).code;
  const known: Record<string, string> = {
    ECONNREFUSED: 'the tool refused the connection',
    ECONNRESET: 'the tool reset the connection',
    EHOSTUNREACH: 'the tool is unreachable',
    ENETUNREACH: 'the tool is unreachable',
    ETIMEDOUT: 'connecting to the tool timed out',
    EPROTO: 'the TLS handshake with the tool failed',
    CERT_HAS_EXPIRED: "the tool's TLS certificate has expired",
    DEPTH_ZERO_SELF_SIGNED_CERT: "the tool's TLS certificate is self-signed",
    ERR_TLS_CERT_ALTNAME_INVALID: "the tool's TLS certificate does not match its host",
    HPE_HEADER_OVERFLOW: "the tool's response headers are too large",
  };
  if (code && known[code]) return `${known[code]} (${code})`;
  return `the request to the tool failed${code ? ` (${code})` : ''}`;
}
