import { builder } from '../builder.ts';

export interface DeletedShape {
  __typename: 'Deleted';
  id: string;
}

export const deleted = (id: string): DeletedShape => ({ __typename: 'Deleted', id });

/** A delete that happened; shareable so other subgraphs can return the same shape. */
export const Deleted = builder.objectRef<DeletedShape>('Deleted').implement({
  shareable: true,
  description: 'The object with this id was deleted.',
  fields: (t) => ({ id: t.exposeID('id') }),
});
