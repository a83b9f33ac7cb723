import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * How Konstruct signs the requests of tenant-defined HTTP tools, so a tenant's endpoint can
 * tell them from anyone else's. Every request carries
 *
 *   X-Konstruct-Timestamp: <unix seconds>
 *   X-Konstruct-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<payload>")>
 *
 * where `payload` is the bytes that carry the arguments, exactly as sent: the request body for
 * POST, PUT and PATCH (JSON, UTF-8), and the URL's query string without the leading `?` for
 * GET and DELETE (empty when there is none). To verify: recompute the HMAC over the raw bytes
 * (before any JSON parsing), compare in constant time, and reject timestamps more than five
 * minutes from your clock so a captured request cannot be replayed later. A tool without a
 * secret sends the timestamp but no signature header.
 *
 * Also sent: `X-Konstruct-Tool` (the tool's name) and `X-Konstruct-Tool-Call-Id` (the model's
 * call id; the same call is never sent twice, so it can serve as an idempotency key).
 */
export const SIGNATURE_HEADER = 'x-konstruct-signature';
export const TIMESTAMP_HEADER = 'x-konstruct-timestamp';
export const SIGNATURE_VERSION = 'v1';
/** The tolerance `verifyToolSignature` applies by default, and what tenants are told to use. */
export const SIGNATURE_TOLERANCE_SEC = 300;

export function toolSignature(secret: string, timestamp: number | string, payload: string | Buffer): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.`).update(payload).digest('hex');
  return `${SIGNATURE_VERSION}=${mac}`;
}

/**
 * The check a tenant's endpoint performs, written out in code (used by the tests and offered
 * to tenants as the reference). `signatureHeader` may list several comma-separated signatures
 * (so a secret can be rotated); one valid `v1` is enough.
 */
export function verifyToolSignature(args: {
  secret: string;
  timestamp: string | undefined;
  signatureHeader: string | undefined;
  payload: string | Buffer;
  nowSec?: number;
  toleranceSec?: number;
}): boolean {
  const { secret, timestamp, signatureHeader, payload } = args;
  if (!timestamp || !signatureHeader || !/^\d{1,12}$/.test(timestamp)) return false;
  const now = args.nowSec ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > (args.toleranceSec ?? SIGNATURE_TOLERANCE_SEC)) return false;
  const expected = Buffer.from(toolSignature(secret, timestamp, payload));
  return signatureHeader.split(',').some((candidate) => {
    const given = Buffer.from(candidate.trim());
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
