import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyringFrom } from './crypto.ts';
import { deriveMasterSubkey, INSTALL_TICKET_TTL_SECONDS, signInstallTicket, verifyInstallTicket, type InstallTicketClaims } from './install-ticket.ts';

const master = randomBytes(32).toString('base64');
const ring = keyringFrom(master);
const claims: InstallTicketClaims = { channel: 'slack', tenantId: randomUUID(), agentId: randomUUID(), operatorId: randomUUID() };
const now = new Date('2026-01-05T10:00:00.000Z');

describe('install tickets', () => {
  it('round-trips the claims and expires ten minutes after issue', () => {
    const { ticket, expiresAt } = signInstallTicket(ring, claims, { now });
    expect(expiresAt.toISOString()).toBe('2026-01-05T10:10:00.000Z');
    expect(INSTALL_TICKET_TTL_SECONDS).toBe(600);
    const r = verifyInstallTicket(ring, ticket, new Date(now.getTime() + 599_000));
    expect(r).toEqual({ ok: true, ticket: { ...claims, issuedAt: now, expiresAt } });
  });

  it('keeps agent and operator optional', () => {
    const { ticket } = signInstallTicket(ring, { ...claims, agentId: null, operatorId: null }, { now });
    const r = verifyInstallTicket(ring, ticket, now);
    expect(r.ok && r.ticket.agentId).toBe(null);
    expect(r.ok && r.ticket.operatorId).toBe(null);
  });

  it('refuses an expired ticket', () => {
    const { ticket } = signInstallTicket(ring, claims, { now });
    expect(verifyInstallTicket(ring, ticket, new Date(now.getTime() + 600_000))).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses a ticket signed under another master key', () => {
    const other = keyringFrom(randomBytes(32).toString('base64'));
    const { ticket } = signInstallTicket(other, claims, { now });
    expect(verifyInstallTicket(ring, ticket, now)).toEqual({ ok: false, reason: 'invalid signature' });
  });

  it('refuses a ticket whose payload was changed, even when the change is well-formed', () => {
    const { ticket } = signInstallTicket(ring, claims, { now });
    const [v, kid, body, sig] = ticket.split('.') as [string, string, string, string];
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString());
    payload.t = randomUUID();
    const forged = [v, kid, Buffer.from(JSON.stringify(payload)).toString('base64url'), sig].join('.');
    expect(verifyInstallTicket(ring, forged, now)).toEqual({ ok: false, reason: 'invalid signature' });
  });

  it('is not signed with the master key itself (a MAC under the raw key does not verify)', () => {
    const { ticket } = signInstallTicket(ring, claims, { now });
    const [v, kid, body] = ticket.split('.') as [string, string, string];
    const signed = `${v}.${kid}.${body}`;
    const rawMac = createHmac('sha256', Buffer.from(master, 'base64')).update(signed).digest('base64url');
    expect(verifyInstallTicket(ring, `${signed}.${rawMac}`, now)).toEqual({ ok: false, reason: 'invalid signature' });
    expect(deriveMasterSubkey(ring, 'a').equals(deriveMasterSubkey(ring, 'b'))).toBe(false);
  });

  it('still verifies a ticket issued under the previous master key after rotation', () => {
    const { ticket } = signInstallTicket(ring, claims, { now });
    const rotated = keyringFrom(randomBytes(32).toString('base64'), [master]);
    expect(verifyInstallTicket(rotated, ticket, now).ok).toBe(true);
  });

  it.each([undefined, '', 'x', 'it1.a.b', 'it2.a.b.c', 'it1.nokey.e30.AAAA', 'a'.repeat(5000), 42])('refuses malformed input %#', (t) => {
    const r = verifyInstallTicket(ring, t, now);
    expect(r.ok).toBe(false);
  });

  it('refuses a correctly signed payload that is not a ticket', () => {
    const body = Buffer.from(JSON.stringify({ hello: 'world' })).toString('base64url');
    const signed = `it1.${ring.current}.${body}`;
    const sig = createHmac('sha256', deriveMasterSubkey(ring, 'konstruct/install-ticket/v1')).update(signed).digest('base64url');
    expect(verifyInstallTicket(ring, `${signed}.${sig}`, now)).toEqual({ ok: false, reason: 'malformed' });
  });
});
