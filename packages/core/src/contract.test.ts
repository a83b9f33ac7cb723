import { randomUUID } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import { KonstructMessageV1, KonstructReplyV1, newTraceparent, parseContract } from './contract.ts';

const W3C_TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/;

function validMessage(): Record<string, unknown> {
  return {
    v: 1,
    id: randomUUID(),
    tenantId: randomUUID(),
    channel: { kind: 'slack', connectionId: randomUUID(), address: 'C0CUSTOMER' },
    conversation: { ref: 'slack:T0001ACME:C0CUSTOMER:1732612345.000200' },
    externalId: 'C0CUSTOMER:1732612345.000200',
    sender: { externalId: 'U061F7AUR' },
    text: 'what are your opening hours on Saturday?',
    thread: { replyTo: '1732612345.000200' },
    receivedAt: '2024-11-26T09:12:25.000Z',
    trace: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
  };
}

function validReply(): Record<string, unknown> {
  return {
    v: 1,
    id: randomUUID(),
    tenantId: randomUUID(),
    channel: { kind: 'whatsapp', connectionId: randomUUID(), address: '15550001111' },
    conversationId: randomUUID(),
    inReplyTo: randomUUID(),
    thread: {},
    recipient: { externalId: '31612345678' },
    text: 'We are open 9–17 on Saturday.',
  };
}

/** Asserts a single-issue failure whose reason names `path`. */
function expectRejectedAt(payload: unknown, path: string) {
  const result = parseContract(KonstructMessageV1, payload);
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.reason.startsWith(`${path}: `)).toBe(true);
  expect(result.reason.split('; ')).toHaveLength(1);
}

describe('KonstructMessageV1', () => {
  it('parses a valid message and defaults attachments to [] and inThread to false', () => {
    const input = validMessage();
    const result = parseContract(KonstructMessageV1, input);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.attachments).toEqual([]);
    expect(result.value.thread).toEqual({ replyTo: '1732612345.000200', inThread: false });
    expect(result.value.tenantId).toBe(input.tenantId);
    expect(result.value.text).toBe('what are your opening hours on Saturday?');
  });

  it('accepts a message with attachments and no trace', () => {
    const input = { ...validMessage(), attachments: [{ kind: 'image', url: 'https://files.example/a.png', sizeBytes: 10 }] };
    delete (input as { trace?: unknown }).trace;
    const result = parseContract(KonstructMessageV1, input);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value.attachments).toHaveLength(1);
  });

  it('carries an optional control block (the busy reply of a rate limit), absent on ordinary messages', () => {
    const plain = parseContract(KonstructMessageV1, validMessage());
    expect(plain.ok && plain.value.control).toBeUndefined();
    const busy = parseContract(KonstructMessageV1, { ...validMessage(), control: { busyReply: 'Busy — back soon.' } });
    expect(busy.ok && busy.value.control).toEqual({ busyReply: 'Busy — back soon.' });
    // An empty control block is harmless; an empty busy reply is not a reply.
    expect(parseContract(KonstructMessageV1, { ...validMessage(), control: {} }).ok).toBe(true);
    expectRejectedAt({ ...validMessage(), control: { busyReply: '' } }, 'control.busyReply');
  });

  it('rejects a wrong version', () => {
    expectRejectedAt({ ...validMessage(), v: 2 }, 'v');
    expectRejectedAt({ ...validMessage(), v: '1' }, 'v');
  });

  it('rejects a non-uuid tenantId', () => {
    expectRejectedAt({ ...validMessage(), tenantId: 'acme' }, 'tenantId');
  });

  it('rejects a missing externalId', () => {
    const input = validMessage();
    delete input.externalId;
    expectRejectedAt(input, 'externalId');
  });

  it('rejects an empty externalId', () => {
    expectRejectedAt({ ...validMessage(), externalId: '' }, 'externalId');
  });

  it('rejects text over 40000 characters but accepts exactly 40000', () => {
    expect(parseContract(KonstructMessageV1, { ...validMessage(), text: 'x'.repeat(40_000) }).ok).toBe(true);
    expectRejectedAt({ ...validMessage(), text: 'x'.repeat(40_001) }, 'text');
  });

  it('rejects an unknown channel kind', () => {
    const input = validMessage();
    input.channel = { kind: 'telegram', connectionId: randomUUID(), address: 'C1' };
    expectRejectedAt(input, 'channel.kind');
  });

  it.each([
    ['wrong separator', '00_0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331_01'],
    ['uppercase hex', '00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01'],
    ['short trace id', '00-0af7651916cd43dd8448eb211c8031-b7ad6b7169203331-01'],
    ['missing flags', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331'],
    ['empty', ''],
  ])('rejects a malformed traceparent (%s)', (_label, traceparent) => {
    expectRejectedAt({ ...validMessage(), trace: { traceparent } }, 'trace.traceparent');
  });

  it('rejects a receivedAt that is not an ISO datetime', () => {
    expectRejectedAt({ ...validMessage(), receivedAt: 'yesterday' }, 'receivedAt');
  });

  it('lists several problems in one reason', () => {
    const result = parseContract(KonstructMessageV1, { ...validMessage(), v: 2, tenantId: 'x' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toContain('v: ');
    expect(result.reason).toContain('tenantId: ');
    expect(result.reason.split('; ')).toHaveLength(2);
  });
});

describe('parseContract on garbage', () => {
  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a string', 'hello'],
    ['an array', [1, 2, 3]],
    ['a number', 42],
    ['an empty object', {}],
  ])('returns {ok:false, reason} for %s without throwing', (_label, payload) => {
    const result = parseContract(KonstructMessageV1, payload);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(typeof result.reason).toBe('string');
    expect(result.reason.length).toBeGreaterThan(0);
  });

  it('names the root for a non-object payload', () => {
    const result = parseContract(KonstructMessageV1, 'hello');
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(/^\(root\): /) });
  });
});

describe('newTraceparent', () => {
  it('matches the W3C format and the contract schema', () => {
    const tp = newTraceparent();
    expect(tp).toMatch(W3C_TRACEPARENT);
    expect(parseContract(KonstructMessageV1, { ...validMessage(), trace: { traceparent: tp } }).ok).toBe(true);
  });

  it('returns a different trace and parent id on each call', () => {
    const a = newTraceparent().split('-');
    const b = newTraceparent().split('-');
    expect(a[1]).not.toBe(b[1]);
    expect(a[2]).not.toBe(b[2]);
  });

  it('never produces the all-zero ids W3C forbids (over many calls)', () => {
    for (let i = 0; i < 200; i++) {
      const [, traceId, parentId] = newTraceparent().split('-');
      expect(traceId).not.toBe('0'.repeat(32));
      expect(parentId).not.toBe('0'.repeat(16));
    }
  });
});

describe('KonstructReplyV1', () => {
  it('parses a valid reply', () => {
    const input = validReply();
    const result = parseContract(KonstructReplyV1, input);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value.inReplyTo).toBe(input.inReplyTo);
  });

  it('rejects empty text', () => {
    const result = parseContract(KonstructReplyV1, { ...validReply(), text: '' });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason.startsWith('text: ')).toBe(true);
      expect(result.reason.split('; ')).toHaveLength(1);
    }
  });

  it('rejects a non-uuid inReplyTo', () => {
    const result = parseContract(KonstructReplyV1, { ...validReply(), inReplyTo: 'C0CUSTOMER:1732612345.000200' });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason.startsWith('inReplyTo: ')).toBe(true);
  });
});
