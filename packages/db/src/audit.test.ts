import { describe, expect, it } from 'vitest';
import { auditRow, storableAudit } from './audit.ts';

describe('storableAudit', () => {
  it('keeps ordinary entries as they are', () => {
    const e = { actorKind: 'agent' as const, actorId: 'a1', action: 'llm.call', subjectType: 'message', subjectId: 'm1', data: { model: 'gpt', tokens: 12, ok: true, at: null, list: ['x', 2] } };
    expect(storableAudit(e)).toEqual(e);
    expect(storableAudit({ actorKind: 'system', action: 'x' })).toEqual({ actorKind: 'system', action: 'x' });
  });

  it('makes every value storable: NUL, bigint, non-finite numbers, dates, cycles, functions', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const out = storableAudit({
      actorKind: 'end_user',
      actorId: 'U\u0000',
      action: 'tool.\u0000call',
      data: { s: 'a\u0000b', n: 7n, inf: Infinity, when: new Date('2026-11-27T00:00:00Z'), cyclic, f: () => 1, gone: undefined, arr: [undefined, 1n] },
    });
    expect(out).toEqual({
      actorKind: 'end_user',
      actorId: 'U\uFFFD',
      action: 'tool.\uFFFDcall',
      data: { s: 'a\uFFFDb', n: '7', inf: 'Infinity', when: '2026-11-27T00:00:00.000Z', cyclic: { name: 'loop', self: '[circular]' }, f: '[function]', arr: [null, '1'] },
    });
    expect(() => JSON.stringify(out)).not.toThrow();
    expect(JSON.stringify(out)).not.toContain('\\u0000');
  });

  it('is what auditRow writes', () => {
    expect(auditRow('t1', { actorKind: 'system', action: 'a', data: { s: '\u0000' } }).data).toEqual({ s: '\uFFFD' });
  });
});
