import SchemaBuilder from '@pothos/core';
import DirectivePlugin from '@pothos/plugin-directives';
import FederationPlugin from '@pothos/plugin-federation';
import { GraphQLError, Kind } from 'graphql';
import type { SubgraphContext } from './context.ts';

export interface SubgraphTypes<Extra extends object = object> {
  Context: SubgraphContext & Extra;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
  };
}

/**
 * One builder per subgraph, with the scalars and result types every subgraph shares. `Extra`
 * is what the subgraph adds to the request context (passed to `startSubgraph`).
 */
export function createSubgraphBuilder<Extra extends object = object>() {
  const builder = new SchemaBuilder<SubgraphTypes<Extra>>({
    plugins: [DirectivePlugin, FederationPlugin],
    defaultFieldNullability: false,
  });

  builder.scalarType('DateTime', {
    description: 'An ISO-8601 timestamp with time zone.',
    serialize: (v) => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString()),
    parseValue: (v) => {
      const d = new Date(String(v));
      if (typeof v !== 'string' || Number.isNaN(d.getTime())) throw new GraphQLError('DateTime must be an ISO-8601 string');
      return d;
    },
    parseLiteral: (ast) => {
      if (ast.kind !== Kind.STRING || Number.isNaN(new Date(ast.value).getTime()))
        throw new GraphQLError('DateTime must be an ISO-8601 string');
      return new Date(ast.value);
    },
  });
  builder.scalarType('JSON', {
    description: 'Any JSON value.',
    serialize: (v) => v,
    parseValue: (v) => v,
  });

  const ErrorInterface = builder.interfaceRef<{ message: string }>('Error').implement({
    description: 'An expected failure, returned as data rather than as a GraphQL error.',
    fields: (t) => ({ message: t.exposeString('message') }),
  });
  const ValidationError = builder.objectRef<{ message: string; field: string | null }>('ValidationError').implement({
    shareable: true,
    interfaces: [ErrorInterface],
    isTypeOf: (v) => typeof v === 'object' && v !== null && (v as { __typename?: string }).__typename === 'ValidationError',
    fields: (t) => ({
      message: t.exposeString('message'),
      field: t.exposeString('field', { nullable: true }),
    }),
  });
  const NotFound = builder.objectRef<{ message: string; id: string }>('NotFound').implement({
    shareable: true,
    interfaces: [ErrorInterface],
    isTypeOf: (v) => typeof v === 'object' && v !== null && (v as { __typename?: string }).__typename === 'NotFound',
    fields: (t) => ({ message: t.exposeString('message'), id: t.exposeID('id') }),
  });

  builder.queryType({});
  builder.mutationType({});
  return { builder, ValidationError, NotFound, ErrorInterface };
}

export type SubgraphBuilder = ReturnType<typeof createSubgraphBuilder>['builder'];

export const validationError = (message: string, field: string | null = null) => ({ __typename: 'ValidationError' as const, message, field });
export const notFound = (what: string, id: string) => ({ __typename: 'NotFound' as const, message: `${what} ${id} not found`, id });

/**
 * `resolveType` for result unions: typed failures carry `__typename`; anything without one is
 * the success type named here.
 */
export const byTypename =
  (success: string) =>
  (value: unknown): string =>
    (value as { __typename?: string }).__typename ?? success;
