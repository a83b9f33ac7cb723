import { describe, expect, it } from 'vitest';
import { auditWhere } from './filter.ts';

describe('auditWhere', () => {
  it('no filter, or only nulls, constrains nothing', () => {
    expect(auditWhere(null)).toEqual({});
    expect(auditWhere({ action: null, actorId: undefined, from: null })).toEqual({});
  });

  it('ANDs the given fields; an empty string is a value, not "absent"', () => {
    expect(auditWhere({ action: 'agent.updated', actorKind: 'operator', actorId: 'op', subjectType: 'agent', subjectId: '' })).toEqual({
      action: 'agent.updated', actorKind: 'operator', actorId: 'op', subjectType: 'agent', subjectId: '',
    });
  });

  it('time window: from inclusive, to exclusive, either side optional', () => {
    const from = new Date('2026-01-01T00:00:00Z');
    const to = new Date('2026-02-01T00:00:00Z');
    expect(auditWhere({ from, to })).toEqual({ occurredAt: { gte: from, lt: to } });
    expect(auditWhere({ from })).toEqual({ occurredAt: { gte: from } });
    expect(auditWhere({ to })).toEqual({ occurredAt: { lt: to } });
  });
});
