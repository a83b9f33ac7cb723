import type { GraphQLSchema } from 'graphql';
import { createSubgraphBuilder } from '@konstruct/graphql';

export const { builder } = createSubgraphBuilder();

/*
 * The kit's builder always declares `type Mutation`. Audit has no mutations (the log is
 * written by the platform itself, never through the API), and an empty Mutation type is an
 * invalid schema (`Type Mutation must define one or more fields`). Until the kit declares
 * Mutation only when a subgraph adds fields, drop it here when it is empty; toSubGraphSchema
 * builds through toSchema, so this covers the published SDL too.
 */
const toSchema = builder.toSchema.bind(builder);
builder.toSchema = ((...args: Parameters<typeof toSchema>) => {
  const schema = toSchema(...args);
  const mutation = schema.getMutationType();
  if (!mutation || Object.keys(mutation.getFields()).length > 0) return schema;
  const config = schema.toConfig();
  // The schema's own class: under vitest, node_modules and this file can load different
  // copies of graphql (CJS and ESM), and graphql-js refuses types from another copy.
  const Schema = schema.constructor as typeof GraphQLSchema;
  return new Schema({ ...config, mutation: undefined, types: config.types.filter((t) => t.name !== mutation.name) });
}) as typeof builder.toSchema;
