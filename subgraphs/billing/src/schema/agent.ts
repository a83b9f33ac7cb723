import { tenantOf } from '@konstruct/graphql';
import { builder } from '../builder.ts';
import { agentBudget } from '../data/budgets.ts';
import { agentUsageSummary } from '../data/usage.ts';
import { isUuid } from '../domain/ids.ts';
import { defaultUsageWindow, usageWindowProblem } from '../domain/usage-window.ts';
import { Budget } from './budget.ts';
import { badUserInput } from './results.ts';
import { AgentUsageSummary } from './usage.ts';

/** Agent is owned by the agent subgraph; billing adds what it knows about one. */
export const Agent = builder.externalRef('Agent', builder.selection<{ id: string }>('id')).implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    usage: t.field({
      type: AgentUsageSummary,
      description: "This agent's usage in [from, to); by default the current UTC month so far.",
      args: {
        from: t.arg({ type: 'DateTime', required: false }),
        to: t.arg({ type: 'DateTime', required: false }),
      },
      resolve: async (agent, args, ctx) => {
        const scope = tenantOf(ctx);
        const fallback = defaultUsageWindow(new Date());
        const window = { from: args.from ?? fallback.from, to: args.to ?? fallback.to };
        const problem = usageWindowProblem(window.from, window.to);
        if (problem) throw badUserInput(problem);
        if (!isUuid(agent.id)) {
          return { ...window, calls: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsdMicros: '0' };
        }
        const summary = await ctx.db.withTenant(scope, (tx) => agentUsageSummary(tx, scope, agent.id, window));
        return { ...summary, ...window };
      },
    }),
    budget: t.field({
      type: Budget,
      nullable: true,
      description: "This agent's monthly budget if it has one, else its daily one (USD before tokens).",
      resolve: (agent, _args, ctx) => {
        const scope = tenantOf(ctx);
        if (!isUuid(agent.id)) return null;
        return ctx.db.withTenant(scope, (tx) => agentBudget(tx, agent.id));
      },
    }),
  }),
});
