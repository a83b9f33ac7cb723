import { notFound, tenantForWrite, tenantOf, validationError } from '@konstruct/graphql';
import { builder, NotFound, ValidationError } from '../builder.ts';
import { deleteBudget, getBudget, listBudgets, upsertBudget, type BudgetRow, type BudgetWindowView } from '../data/budgets.ts';
import { checkAgentId, parseBudgetLimit } from '../domain/budget-input.ts';
import { microsToUsd } from '../domain/money.ts';
import { Deleted, deleted } from './deleted.ts';
import { resultType } from './results.ts';

export const BudgetPeriod = builder.enumType('BudgetPeriod', {
  values: { DAY: { value: 'day' }, MONTH: { value: 'month' } } as const,
});

export const BudgetUnit = builder.enumType('BudgetUnit', {
  values: {
    TOKENS: { value: 'tokens', description: 'Input plus output tokens.' },
    USD_MICROS: { value: 'usd_micros', description: 'Cost in millionths of a US dollar.' },
  } as const,
});

export const BudgetWindow = builder.objectRef<BudgetWindowView>('BudgetWindow').implement({
  description: 'Spend within the current period of a budget (UTC day or month).',
  fields: (t) => ({
    windowStart: t.expose('windowStart', { type: 'DateTime' }),
    spent: t.string({ description: 'Settled spend, in the budget unit.', resolve: (w) => w.spent.toString() }),
    reserved: t.string({ description: 'Held for calls in flight, in the budget unit.', resolve: (w) => w.reserved.toString() }),
  }),
});

export const Budget = builder.objectRef<BudgetRow>('Budget').implement({
  description: 'A spending limit for the whole tenant (agentId null) or one agent.',
  fields: (t) => ({
    id: t.exposeID('id'),
    agentId: t.exposeID('agentId', { nullable: true }),
    period: t.expose('period', { type: BudgetPeriod }),
    unit: t.expose('unit', { type: BudgetUnit }),
    limit: t.string({ description: 'The limit in the budget unit (a whole number, as a string).', resolve: (b) => b.limit.toString() }),
    limitUsd: t.float({
      nullable: true,
      description: 'The limit in US dollars, when the unit is USD_MICROS.',
      resolve: (b) => (b.unit === 'usd_micros' ? microsToUsd(b.limit) : null),
    }),
    currentWindow: t.field({ type: BudgetWindow, resolve: (b) => b.currentWindow }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

builder.asEntity(Budget, {
  key: builder.selection<{ id: string }>('id'),
  resolveReference: (ref, ctx) => ctx.db.withTenant(tenantOf(ctx), (tx) => getBudget(tx, ref.id)),
});

builder.queryField('budgets', (t) =>
  t.field({
    type: [Budget],
    description: "The tenant's budgets: all of them, or one agent's when agentId is given.",
    args: { agentId: t.arg.id({ required: false }) },
    resolve: (_root, args, ctx) =>
      ctx.db.withTenant(tenantOf(ctx), (tx) => listBudgets(tx, { agentId: args.agentId == null ? undefined : String(args.agentId) })),
  }),
);

const SetBudgetInput = builder.inputType('SetBudgetInput', {
  fields: (t) => ({
    agentId: t.id({ required: false, description: 'The agent; null for a budget over the whole tenant.' }),
    period: t.field({ type: BudgetPeriod, required: true }),
    unit: t.field({ type: BudgetUnit, required: true }),
    limit: t.string({ required: true, description: 'A whole number of tokens or micro-dollars.' }),
  }),
});

const SetBudgetResult = builder.unionType('SetBudgetResult', {
  types: [Budget, ValidationError],
  resolveType: resultType('Budget'),
});

const DeleteBudgetResult = builder.unionType('DeleteBudgetResult', {
  types: [Deleted, NotFound],
  resolveType: resultType('Deleted'),
});

builder.mutationField('setBudget', (t) =>
  t.field({
    type: SetBudgetResult,
    description: 'Creates the budget for (agent or tenant, period, unit), or changes its limit.',
    args: { input: t.arg({ type: SetBudgetInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const scope = tenantForWrite(ctx);
      const agentId = input.agentId == null ? null : String(input.agentId);
      const agentProblem = checkAgentId(agentId);
      if (agentProblem) return validationError(agentProblem.message, agentProblem.field);
      const limit = parseBudgetLimit(input.limit);
      if (!limit.ok) return validationError(limit.error.message, limit.error.field);
      const saved = await ctx.db.withTenant(scope, (tx) =>
        upsertBudget(tx, scope, { agentId, period: input.period, unit: input.unit, limit: limit.value }),
      );
      return saved.ok ? saved.value : validationError(saved.error.message, saved.error.field);
    },
  }),
);

builder.mutationField('deleteBudget', (t) =>
  t.field({
    type: DeleteBudgetResult,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const scope = tenantForWrite(ctx);
      const id = String(args.id);
      const gone = await ctx.db.withTenant(scope, (tx) => deleteBudget(tx, id));
      return gone ? deleted(id) : notFound('budget', id);
    },
  }),
);
