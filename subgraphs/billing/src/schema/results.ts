import { GraphQLError } from 'graphql';

/** Result members carry `__typename`; anything without one is the union's success type. */
export function resultType<S extends string>(success: S) {
  return (value: object): string =>
    '__typename' in value && typeof value.__typename === 'string' ? value.__typename : success;
}

/** Bad arguments to a query (which returns data, not a result union). */
export function badUserInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
}
