import { createSubgraphBuilder } from '@konstruct/graphql';

export const { builder, NotFound } = createSubgraphBuilder();
