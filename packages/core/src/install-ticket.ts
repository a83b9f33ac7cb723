import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { MasterKeyring } from './crypto.ts';
import { ChannelKind } from './contract.ts';

/**
 * An install ticket: a short-lived, signed permission to connect a channel (today a Slack
 * workspace) to a tenant. The tenancy API issues it to a tenant admin; the bridge checks it
 * before sending the browser to the vendor's OAuth page. It is a link, so it must not be
 * forgeable and must not last: HMAC-SHA256 with a key derived from the master key, and a
 * ten-minute expiry.
 *
 * Format: `it1.<master key id>.<payload, base64url JSON>.<mac, base64url>`; the key id lets a
 * ticket issued just before a master-key rotation still verify.
 */
export const INSTALL_TICKET_TTL_SECONDS = 600;

/** Where install links point when no public bridge URL is configured (the dev bridge). */
export const DEFAULT_BRIDGE_PUBLIC_URL = 'http://127.0.0.1:3000';

const VERSION = 'it1';
const TICKET_KEY_INFO = 'konstruct/install-ticket/v1';
/** Tickets are links; anything much longer than one is not a ticket. */
const MAX_TICKET_LENGTH = 2048;

/**
 * A key for one purpose, derived from a master key with HKDF-SHA256, so that a signing key
 * is never also the key that wraps secrets at rest.
 */
export function deriveMasterSubkey(ring: MasterKeyring, info: string, keyId = ring.current): Buffer {
  const master = ring.keys.get(keyId);
  if (!master) throw new Error(`master key ${keyId} is not in the keyring`);
  return Buffer.from(hkdfSync('sha256', master, Buffer.from('konstruct'), Buffer.from(info), 32));
}

export interface InstallTicketClaims {
  channel: ChannelKind;
  tenantId: string;
  /** The employee the new connection is attached to, if the admin chose one. */
  agentId: string | null;
  /** Who asked for the link (operator id), for the connection's record. */
  operatorId: string | null;
}

export interface InstallTicket extends InstallTicketClaims {
  issuedAt: Date;
  expiresAt: Date;
}

const Payload = z.object({
  c: ChannelKind,
  t: z.string().uuid(),
  a: z.string().uuid().nullable(),
  o: z.string().uuid().nullable(),
  iat: z.number().int(),
  exp: z.number().int(),
  n: z.string(),
});

export type InstallTicketFailure = 'malformed' | 'invalid signature' | 'expired';
export type InstallTicketResult = { ok: true; ticket: InstallTicket } | { ok: false; reason: InstallTicketFailure };

function mac(key: Buffer, signed: string): Buffer {
  return createHmac('sha256', key).update(signed).digest();
}

export function signInstallTicket(
  ring: MasterKeyring,
  claims: InstallTicketClaims,
  opts: { now?: Date; ttlSeconds?: number } = {},
): { ticket: string; expiresAt: Date } {
  const iat = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  const exp = iat + (opts.ttlSeconds ?? INSTALL_TICKET_TTL_SECONDS);
  const payload: z.infer<typeof Payload> = {
    c: claims.channel,
    t: claims.tenantId,
    a: claims.agentId,
    o: claims.operatorId,
    iat,
    exp,
    n: randomBytes(9).toString('base64url'),
  };
  const signed = `${VERSION}.${ring.current}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const key = deriveMasterSubkey(ring, TICKET_KEY_INFO);
  return { ticket: `${signed}.${mac(key, signed).toString('base64url')}`, expiresAt: new Date(exp * 1000) };
}

/** Checks the signature before reading anything from the payload. Never throws. */
export function verifyInstallTicket(ring: MasterKeyring, ticket: unknown, now = new Date()): InstallTicketResult {
  if (typeof ticket !== 'string' || ticket.length > MAX_TICKET_LENGTH) return { ok: false, reason: 'malformed' };
  const parts = ticket.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION) return { ok: false, reason: 'malformed' };
  const [, keyId, body, sig] = parts as [string, string, string, string];
  if (!ring.keys.has(keyId)) return { ok: false, reason: 'invalid signature' };
  const expected = mac(deriveMasterSubkey(ring, TICKET_KEY_INFO, keyId), `${VERSION}.${keyId}.${body}`);
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'invalid signature' };

  let payload: z.infer<typeof Payload>;
  try {
    const parsed = Payload.safeParse(JSON.parse(Buffer.from(body, 'base64url').toString('utf8')));
    if (!parsed.success) return { ok: false, reason: 'malformed' };
    payload = parsed.data;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (payload.exp * 1000 <= now.getTime()) return { ok: false, reason: 'expired' };
  return {
    ok: true,
    ticket: {
      channel: payload.c,
      tenantId: payload.t,
      agentId: payload.a,
      operatorId: payload.o,
      issuedAt: new Date(payload.iat * 1000),
      expiresAt: new Date(payload.exp * 1000),
    },
  };
}
