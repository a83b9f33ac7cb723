/**
 * `resolveType` for mutation result unions: the kit's ValidationError/NotFound and the
 * Deleted* types carry `__typename`; any other value is the union's success type.
 */
export const resolveResult = (successType: string) => (value: object) => {
  const tag = (value as { __typename?: unknown }).__typename;
  return typeof tag === 'string' ? tag : successType;
};
