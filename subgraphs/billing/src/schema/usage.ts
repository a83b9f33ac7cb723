import { tenantOf } from '@konstruct/graphql';
import { builder } from '../builder.ts';
import { usageBuckets, type UsageBucketRow, type UsageSummaryRow } from '../data/usage.ts';
import { isUuid } from '../domain/ids.ts';
import { microsToUsd } from '../domain/money.ts';
import { MAX_USAGE_WINDOW_DAYS, usageWindowProblem } from '../domain/usage-window.ts';
import { LlmProvider } from './llm-provider.ts';
import { badUserInput } from './results.ts';

export const UsageDimension = builder.enumType('UsageDimension', {
  values: { DAY: { value: 'day' }, AGENT: { value: 'agent' }, MODEL: { value: 'model' }, PROVIDER: { value: 'provider' } } as const,
});

const UsageFilter = builder.inputType('UsageFilter', {
  fields: (t) => ({
    from: t.field({ type: 'DateTime', required: true, description: 'Inclusive.' }),
    to: t.field({ type: 'DateTime', required: true, description: `Exclusive; at most ${MAX_USAGE_WINDOW_DAYS} days after from.` }),
    agentId: t.id({ required: false }),
    model: t.string({ required: false }),
  }),
});

const TOKENS = 'A whole number; Float because sums can exceed 32 bits (exact to 2^53).';

export const UsageBucket = builder.objectRef<UsageBucketRow>('UsageBucket').implement({
  description: 'Usage summed over one group; a dimension not grouped by is null.',
  fields: (t) => ({
    day: t.exposeString('day', { nullable: true, description: 'UTC day, YYYY-MM-DD.' }),
    agentId: t.exposeID('agentId', { nullable: true }),
    model: t.exposeString('model', { nullable: true }),
    provider: t.expose('provider', { type: LlmProvider, nullable: true }),
    calls: t.exposeInt('calls'),
    inputTokens: t.exposeFloat('inputTokens', { description: TOKENS }),
    outputTokens: t.exposeFloat('outputTokens', { description: TOKENS }),
    cacheReadTokens: t.exposeFloat('cacheReadTokens', { description: TOKENS }),
    cacheWriteTokens: t.exposeFloat('cacheWriteTokens', { description: TOKENS }),
    costUsdMicros: t.exposeString('costUsdMicros', { description: 'Cost in micro-dollars (a whole number, as a string).' }),
    costUsd: t.float({ resolve: (b) => microsToUsd(b.costUsdMicros) }),
  }),
});

export type AgentUsageSummaryShape = UsageSummaryRow & { from: Date; to: Date };

export const AgentUsageSummary = builder.objectRef<AgentUsageSummaryShape>('AgentUsageSummary').implement({
  description: "An agent's usage totals over [from, to).",
  fields: (t) => ({
    from: t.expose('from', { type: 'DateTime' }),
    to: t.expose('to', { type: 'DateTime' }),
    calls: t.exposeInt('calls'),
    inputTokens: t.exposeFloat('inputTokens', { description: TOKENS }),
    outputTokens: t.exposeFloat('outputTokens', { description: TOKENS }),
    costUsdMicros: t.exposeString('costUsdMicros', { description: 'Cost in micro-dollars (a whole number, as a string).' }),
    costUsd: t.float({ resolve: (s) => microsToUsd(s.costUsdMicros) }),
  }),
});

builder.queryField('usage', (t) =>
  t.field({
    type: [UsageBucket],
    description:
      `LLM usage in [from, to), grouped by the given dimensions (an empty list gives one bucket of totals). ` +
      `A window longer than ${MAX_USAGE_WINDOW_DAYS} days, or to <= from, is a BAD_USER_INPUT error.`,
    args: {
      filter: t.arg({ type: UsageFilter, required: true }),
      groupBy: t.arg({ type: [UsageDimension], required: true }),
    },
    resolve: (_root, { filter, groupBy }, ctx) => {
      const scope = tenantOf(ctx);
      const problem = usageWindowProblem(filter.from, filter.to);
      if (problem) throw badUserInput(problem);
      const agentId = filter.agentId == null ? null : String(filter.agentId);
      if (agentId !== null && !isUuid(agentId)) throw badUserInput('agentId is not a valid id');
      return ctx.db.withTenant(scope, (tx) =>
        usageBuckets(tx, scope, { from: filter.from, to: filter.to, agentId, model: filter.model ?? null }, groupBy),
      );
    },
  }),
);
