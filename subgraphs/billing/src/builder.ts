import { createSubgraphBuilder } from '@konstruct/graphql';

/** The billing subgraph's one schema builder, with the kit's scalars and result types. */
export const { builder, ValidationError, NotFound } = createSubgraphBuilder();
