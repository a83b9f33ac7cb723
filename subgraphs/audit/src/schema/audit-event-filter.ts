import { builder } from '../builder.ts';

export const AuditEventFilter = builder.inputType('AuditEventFilter', {
  description: 'Every field given narrows the result.',
  fields: (t) => ({
    action: t.string({ required: false }),
    actorKind: t.string({ required: false }),
    actorId: t.string({ required: false }),
    subjectType: t.string({ required: false }),
    subjectId: t.string({ required: false }),
    from: t.field({ type: 'DateTime', required: false, description: 'Inclusive.' }),
    to: t.field({ type: 'DateTime', required: false, description: 'Exclusive.' }),
  }),
});
