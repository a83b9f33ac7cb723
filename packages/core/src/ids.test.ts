import { describe, expect, it } from 'vitest';
import { derivedUuid, isUuid } from './ids.ts';

describe('derivedUuid', () => {
  const base = '6f1c2a4e-8b3d-4c5e-9f70-112233445566';

  it('is a well-formed uuid, the same for the same inputs, whatever the case of the base', () => {
    const id = derivedUuid(base, 'note');
    expect(isUuid(id)).toBe(true);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(derivedUuid(base.toUpperCase(), 'note')).toBe(id);
  });

  it('differs by base and by purpose, and never equals its base', () => {
    const id = derivedUuid(base, 'note');
    expect(derivedUuid(base, 'other')).not.toBe(id);
    expect(derivedUuid(base.replace(/6$/, '7'), 'note')).not.toBe(id);
    expect(id).not.toBe(base);
    // The separator keeps (base, purpose) pairs apart that concatenate alike.
    expect(derivedUuid('a', 'bc')).not.toBe(derivedUuid('ab', 'c'));
  });
});
