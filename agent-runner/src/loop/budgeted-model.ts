import type { Logger } from '@konstruct/core';
import type { TenantScope } from '@konstruct/db';
import type { BudgetLedger } from '../budget/ledger.ts';
import { estimateCall } from '../budget/estimate.ts';
import type { BudgetExhausted } from '../budget/types.ts';
import type { Chain } from '../llm/deployments.ts';
import type { ChatModel, ChatRequest } from '../llm/types.ts';

/** A budget refused the call before it was made. */
export class BudgetBlocked extends Error {
  constructor(
    readonly exhausted: BudgetExhausted,
    /** The first deployment the call would have gone to. */
    readonly model: string,
    /** Every deployment that may have answered, for choosing a cheaper one. */
    readonly chain: string[],
  ) {
    super(`budget ${exhausted.budgetId} refused the call (${exhausted.reason})`);
    this.name = 'BudgetBlocked';
  }
}

export interface BudgetedModelOptions {
  ledger: BudgetLedger;
  scope: TenantScope;
  agentId: string;
  conversationId: string;
  /** The output cap sent on every call, and reserved: the estimate is only a bound if the provider cannot exceed it. */
  maxTokens: number;
  /** The fallback chain of a request (the router's `chainFor`); a plain model is asked for `req.model` only. */
  chainFor?(req: Pick<ChatRequest, 'model' | 'preferences'>): Chain;
  /** Refuse unless the estimate fits (the `cheaper_model` policy's first try: let the cheaper model be the crossing call). */
  requireFit?: boolean;
  /** The turn found no budget when it opened: its first call skips the reservation (see ReserveRequest.noBudgets). */
  firstCallUnbudgeted?: boolean;
  logger: Logger;
}

/**
 * Every model call reserved against the agent's and tenant's budgets before it is made and
 * settled after (the ledger writes the usage record and publishes the usage event), or the
 * reservation released when the call failed. A refusal throws `BudgetBlocked`, which ends the
 * tool loop like an unreachable model; the turn applies the agent's policy.
 */
export function budgetedModel(model: ChatModel, opts: BudgetedModelOptions): ChatModel {
  const log = opts.logger.child({ source: 'budget' });
  let unbudgeted = opts.firstCallUnbudgeted === true;
  return {
    async complete(req) {
      const chain = opts.chainFor
        ? opts.chainFor(req).deployments.map((d) => `${d.provider}:${d.model}`)
        : [req.model?.includes(':') ? req.model : `openai:${req.model ?? 'unknown'}`];
      const estimate = estimateCall({ messages: req.messages, tools: req.tools ?? [], maxOutputTokens: opts.maxTokens, deployments: chain });
      const reserved = await opts.ledger.reserve(opts.scope, {
        agentId: opts.agentId,
        conversationId: opts.conversationId,
        estimate,
        ...(opts.requireFit && { requireFit: true }),
        ...(unbudgeted && { noBudgets: true }),
      });
      unbudgeted = false;
      if (!reserved.ok) throw new BudgetBlocked(reserved.exhausted, chain[0] ?? 'unknown', chain);
      let result;
      try {
        result = await model.complete({ ...req, maxTokens: opts.maxTokens });
      } catch (e) {
        await opts.ledger.release(opts.scope, reserved.reservation).catch((err: unknown) => log.error({ err }, 'budget hold not released; it expires'));
        throw e;
      }
      try {
        await opts.ledger.settle(opts.scope, reserved.reservation, result);
      } catch (e) {
        // The answer exists and goes out; the hold expires and the usage is logged for replay.
        log.error({ err: e, reservationId: reserved.reservation.id, usage: result.usage, model: result.model }, 'budget settlement failed');
      }
      return result;
    },
  };
}
