import type { KonstructMessageV1, KonstructReplyV1, Logger, TenantEvent } from '@konstruct/core';
import { tenantScope, type Db } from '@konstruct/db';
import type { HandlerResult } from '@konstruct/bus';
import { buildPrompt, buildWindowPrompt, unavailableReply } from './prompt.ts';
import type { TurnMemory } from '../memory/turn-memory.ts';
import type { WindowEntry } from '../memory/types.ts';
import { LlmUnavailable, type ChatModel, type ChatRequest } from '../llm/types.ts';
import type { Chain } from '../llm/deployments.ts';
import { BudgetBlocked, budgetedModel } from './budgeted-model.ts';
import { saveReply } from './reply-row.ts';
import { openTurn } from './open-turn.ts';
import type { BudgetLedger } from '../budget/ledger.ts';
import { budgetBlockedAudit } from '../budget/audit.ts';
import { budgetHandoffReason, budgetRefusalReply, onExhausted } from '../budget/policy.ts';
import { emptyToolset, type ToolRegistry } from '../tools/registry.ts';
import { runToolLoop } from '../tools/loop.ts';
import { toolAuditEntry } from '../tools/audit.ts';
import { modelCallAudits, recordingModel, type ModelCall } from './model-calls.ts';
import { handoffNotice, type CustomerRoute, type Escalation } from '../escalation/handoff.ts';
import { matchMessage, matchToolFailures, ruleFor, type RuleMatch } from '../escalation/rules.ts';
import type { AuditEntry } from '../audit/recorder.ts';
import type { AgentCache } from './agent-cache.ts';
import { directReplyFor, sendDirectReply } from './direct-reply.ts';
import type { ScopeSecondOpinion } from '../scoping/scope-step.ts';

export interface TurnDeps {
  db: Db;
  agents: AgentCache;
  model: ChatModel;
  /**
   * The model asked for on every call. Unset with the router: the agent's model preferences
   * and the platform's default group decide. Set for a single-model client.
   */
  requestModel?: string;
  /** The agent's tools; without it the model gets none. */
  tools?: ToolRegistry;
  /** Most tool steps per message (TOOLS_MAX_STEPS). */
  toolMaxSteps?: number;
  /**
   * The conversation window (Redis, rebuilt from Postgres) and long-term memory. Without it
   * the prompt gets the last `historyMessages` messages from Postgres and nothing is remembered.
   */
  memory?: TurnMemory;
  /**
   * Budgets: every model call reserved before and settled after (the ledger then records the
   * usage and publishes the usage event instead of the turn).
   */
  budgets?: {
    ledger: BudgetLedger;
    /** Sent as every call's maxTokens and reserved as its output bound. */
    maxTokens: number;
    chainFor?(req: Pick<ChatRequest, 'model' | 'preferences'>): Chain;
    /** Models an agent with the `cheaper_model` policy may fall back to, after its own chain. */
    cheaperCandidates?: string[];
  };
  /** Handoffs to a person by the agent's escalation rules, and the human side of them. */
  escalation?: Escalation;
  historyMessages: number;
  publishReply(reply: KonstructReplyV1): Promise<void>;
  /** Live events for GraphQL subscribers; must not throw. */
  publishEvent?(event: TenantEvent): void;
  logger: Logger;
  /** Optional model check behind the deterministic WhatsApp scoping (can only refuse more). */
  scopeSecondOpinion?: ScopeSecondOpinion;
}

type Reply = { id: string; text: string; deliveryState: string };

/**
 * One conversation turn: record the inbound message (idempotently), ask the model, record
 * and publish the reply. Safe to run again for the same message: the inbound row is keyed by
 * (tenant, channel, external id) and the reply by the inbound message, so a redelivery
 * re-publishes the existing reply instead of writing a second one.
 */
export async function runTurn(msg: KonstructMessageV1, deps: TurnDeps): Promise<HandlerResult> {
  const scope = tenantScope(msg.tenantId);
  const log = deps.logger.child({ tenantId: msg.tenantId, messageId: msg.id });

  const agent = await deps.agents.forConnection(msg.tenantId, msg.channel.connectionId);
  if (!agent) return { deadLetter: `channel connection ${msg.channel.connectionId} has no agent` };

  // A person writing in a handoff's thread: relayed to the customer (or a release), not a turn.
  const human = deps.escalation ? await deps.escalation.fromHumanThread(msg) : null;
  if (human) return human;

  // The recall's embedding is computed before the transaction, which then runs its search.
  const recall = deps.memory
    ? await deps.memory.prepareRecall(scope, { agentId: agent.id, endUserExternalId: msg.sender.externalId, userText: msg.text })
    : null;
  const ctx = await openTurn(
    deps.db,
    scope,
    { msg, agentId: agent.id, rules: !!deps.escalation, historyMessages: deps.memory ? 0 : deps.historyMessages, recall },
    log,
  );
  const { conversation, inbound, existing } = ctx;
  const reply = (r: Reply): KonstructReplyV1 => ({
    v: 1,
    id: r.id,
    tenantId: msg.tenantId,
    channel: msg.channel,
    conversationId: conversation.id,
    inReplyTo: inbound.id,
    thread: { replyTo: msg.thread.replyTo },
    recipient: { externalId: msg.sender.externalId },
    text: r.text,
    ...(msg.trace ? { trace: msg.trace } : {}),
  });

  if (existing && existing.conversationId !== conversation.id) {
    // Not a reply: this message was forwarded to a handoff's human thread while paused.
    if (existing.deliveryState === 'pending') await deps.escalation?.forwardToHumans(scope, { conversationId: conversation.id, inboundId: inbound.id, text: msg.text });
    log.info({ forwardId: existing.id }, 'message already forwarded to the people handling the conversation');
    return 'ack';
  }
  if (existing) {
    // A redelivery after we already answered: hand the same reply to the channel again; the
    // sender skips it if it was already posted.
    if (existing.deliveryState === 'pending') await deps.publishReply(reply(existing));
    log.info({ replyId: existing.id }, 'message already answered; not calling the model again');
    return 'ack';
  }
  if (conversation.state !== 'active') {
    log.info({ state: conversation.state }, 'conversation is not active; the employee stays silent');
    // The people who took over see what the customer writes, in their thread.
    if (conversation.state === 'paused') await deps.escalation?.forwardToHumans(scope, { conversationId: conversation.id, inboundId: inbound.id, text: msg.text });
    return 'ack';
  }

  const memoryTurn = {
    agentId: agent.id,
    conversationId: conversation.id,
    endUserExternalId: msg.sender.externalId,
    inboundMessageId: inbound.id,
    userText: msg.text,
    newConversation: ctx.newConversation,
  };
  /** A reply given without the model still belongs in the conversation's window. */
  const rememberDirect = async (result: HandlerResult, text: string) => {
    if (result === 'ack' && deps.memory) {
      await deps.memory.after(scope, { ...memoryTurn, entries: [{ role: 'user', content: msg.text }, { role: 'assistant', content: text }] });
    }
    return result;
  };

  // The rate limit's busy message, or a request outside the business functions on WhatsApp:
  // recorded and answered without the model.
  const direct = await directReplyFor(msg, agent, inbound.id, { secondOpinion: deps.scopeSecondOpinion, log });
  if (direct) {
    const toReply = (r: { id: string; text: string }) => reply({ ...r, deliveryState: 'pending' });
    return rememberDirect(await sendDirectReply(deps, { msg, agentId: agent.id, conversation, inboundId: inbound.id, toReply, log }, direct), direct.text);
  }

  const customer: CustomerRoute = {
    channel: msg.channel,
    ...(msg.thread.replyTo && { replyTo: msg.thread.replyTo }),
    recipient: msg.sender.externalId,
  };
  const handOff = async (match: RuleMatch, trigger: string, summary: string) => {
    if (!deps.escalation) return false;
    const r = await deps.escalation.start({
      scope,
      agent: { id: agent.id, name: agent.name },
      conversationId: conversation.id,
      customer,
      target: match.target,
      ruleId: match.rule.id,
      trigger,
      reason: match.reason,
      summary,
      messageId: inbound.id,
    });
    if (!r.ok) log.warn({ ruleId: match.rule.id, error: r.error }, 'escalation rule fired but the handoff failed; the employee goes on');
    return r.ok;
  };

  // Rules on the customer's words hand over before any model call.
  const before = matchMessage(ctx.rules, msg.text);
  if (before && (await handOff(before, before.rule.trigger, `The customer wrote: "${msg.text.slice(0, 1000)}"`))) {
    const toReply = (r: { id: string; text: string }) => reply({ ...r, deliveryState: 'pending' });
    const notice = handoffNotice(agent.name);
    const sent = await sendDirectReply(deps, { msg, agentId: agent.id, conversation: { ...conversation, state: 'paused' }, inboundId: inbound.id, toReply, log }, {
      text: notice,
      author: 'system',
      audit: {
        actorKind: 'agent',
        actorId: agent.id,
        action: 'escalation.matched',
        subjectType: 'message',
        subjectId: inbound.id,
        data: { ruleId: before.rule.id, trigger: before.rule.trigger, reason: before.reason },
      },
    });
    return rememberDirect(sent, notice);
  }
  const modelDecides = ruleFor(ctx.rules, 'model_decides', 'the employee decided a person should take over');

  const remembered = deps.memory
    ? await deps.memory.before(scope, memoryTurn, ctx.recalled ? { recalled: ctx.recalled } : {})
    : null;
  const prompt = remembered
    ? buildWindowPrompt(agent, remembered.history, msg.text, { channel: msg.channel.kind, memory: remembered.memoryPrompt })
    : buildPrompt(agent, ctx.history, msg.text, { channel: msg.channel.kind });
  const calls: ModelCall[] = [];
  const toolAudits: AuditEntry[] = [];
  const subject = { type: 'message', id: inbound.id };
  const toolset = deps.tools
    ? await deps.tools.forAgent(scope, agent.id, modelDecides && deps.escalation ? { builtins: ['handoff_to_human'] } : {}).catch((e: unknown) => {
        log.error({ err: e }, 'tools could not be loaded; answering without them');
        return emptyToolset(scope, agent.id);
      })
    : emptyToolset(scope, agent.id);
  if (modelDecides) deps.escalation?.beginTurn(inbound.id, { customer, agentName: agent.name, target: modelDecides.target, ruleId: modelDecides.rule.id });
  const budgets = deps.budgets;
  const modelFor = (requireFit: boolean): ChatModel =>
    budgets
      ? budgetedModel(deps.model, {
          requireFit,
          ledger: budgets.ledger,
          scope,
          agentId: agent.id,
          conversationId: conversation.id,
          maxTokens: budgets.maxTokens,
          // None existed when the turn opened: the first call needs no reservation.
          firstCallUnbudgeted: !ctx.budgets,
          ...(budgets.chainFor && { chainFor: budgets.chainFor }),
          logger: log,
        })
      : deps.model;
  const runLoop = (request: Omit<ChatRequest, 'messages' | 'tools'>, requireFit = false) =>
    runToolLoop({
      model: recordingModel(modelFor(requireFit), calls),
      request,
      messages: prompt,
      tools: toolset,
      context: { conversationId: conversation.id, endUserExternalId: msg.sender.externalId, messageId: inbound.id },
      maxSteps: deps.toolMaxSteps ?? 5,
      audit: (entry) => void toolAudits.push(toolAuditEntry(agent.id, entry, subject)),
      logger: log,
    });
  const budgetAudits: AuditEntry[] = [];
  let budgetText: string | null = null;
  let loop: Awaited<ReturnType<typeof runLoop>>;
  try {
    // An agent that falls back to a cheaper model tries its own only if the call fits the budget.
    loop = await runLoop(
      { ...(deps.requestModel && { model: deps.requestModel }), tenantId: msg.tenantId, preferences: agent.modelPreferences },
      agent.onBudgetExhausted === 'cheaper_model',
    );
    if (loop.error instanceof BudgetBlocked) {
      // The agent's policy on an exhausted budget: refuse, a cheaper model (once), or a person.
      let blocked: BudgetBlocked | null = loop.error;
      const decide = (b: BudgetBlocked, downgraded: boolean) => {
        const decision = onExhausted({ name: agent.name, onBudgetExhausted: agent.onBudgetExhausted }, b.exhausted, {
          current: b.model,
          candidates: [...b.chain, ...(budgets?.cheaperCandidates ?? [])],
          downgraded,
        });
        budgetAudits.push(
          budgetBlockedAudit({ agentId: agent.id, exhausted: b.exhausted, decision, model: b.model, messageId: inbound.id, conversationId: conversation.id }),
        );
        log.warn({ budgetId: b.exhausted.budgetId, action: decision.action }, 'budget refused the model call');
        return decision;
      };
      let decision = decide(blocked, false);
      if (decision.action === 'cheaper_model') {
        loop = await runLoop({ tenantId: msg.tenantId, preferences: { models: [decision.model] } });
        if (loop.error instanceof BudgetBlocked) decision = decide((blocked = loop.error), true);
        else blocked = null;
      }
      if (blocked) {
        const reason = decision.action === 'handoff' ? decision.reason : budgetHandoffReason(blocked.exhausted);
        const match = ruleFor(ctx.rules, 'budget_exhausted', reason);
        // A budget_exhausted rule (or the handoff policy, which needs one for its target) brings in a person.
        const handed = match !== null && (await handOff(match, 'budget_exhausted', `Budget exhausted while answering: "${msg.text.slice(0, 1000)}"`));
        budgetText = handed ? handoffNotice(agent.name) : decision.action === 'refuse' ? decision.reply : budgetRefusalReply(agent.name, blocked.exhausted);
      }
    }
  } finally {
    deps.escalation?.endTurn(inbound.id);
  }
  if (loop.stopReason === 'model_error' && !(loop.error instanceof LlmUnavailable) && !(loop.error instanceof BudgetBlocked)) throw loop.error;
  if (loop.stopReason === 'model_error' && loop.error instanceof LlmUnavailable) {
    log.error({ reason: loop.error.reason }, 'model unavailable; telling the user the employee cannot answer');
  }

  const answered = loop.stopReason !== 'model_error' && loop.final !== null;
  let text = budgetText ?? ((answered && loop.text.trim()) || unavailableReply(agent.name));
  if (budgetText) {
    // Decided above.
  } else if (loop.handoff) {
    // The model handed over (and was told to say so); its words are the reply.
    if (!answered || !loop.text.trim()) text = handoffNotice(agent.name);
  } else {
    // Repeated tool failure, or no model reachable at all: a person takes over if a rule says so.
    const after = matchToolFailures(ctx.rules, loop.maxConsecutiveToolFailures) ??
      (answered ? null : ruleFor(ctx.rules, 'model_decides', 'the employee could not reach any language model'));
    const summary = answered
      ? `Tools kept failing (${loop.failedToolCalls} failed calls) while answering: "${msg.text.slice(0, 1000)}"`
      : `No language model answered for: "${msg.text.slice(0, 1000)}"`;
    if (after && (await handOff(after, after.rule.trigger === 'model_decides' ? 'model_unavailable' : after.rule.trigger, summary))) {
      text = handoffNotice(agent.name);
    }
  }
  const results = calls.flatMap((c) => (c.result ? [c.result] : []));
  const audits: AuditEntry[] = [...modelCallAudits(calls, agent.id, subject), ...toolAudits, ...budgetAudits];
  // With budgets, the ledger recorded each call's usage as it settled it.
  const saved: Reply = await saveReply(
    deps.db,
    scope,
    {
      tenantId: msg.tenantId,
      conversationId: conversation.id,
      inReplyToId: inbound.id,
      channelKind: msg.channel.kind,
      author: answered && !budgetText ? 'agent' : 'system',
      text,
    },
    { audits, usage: budgets ? [] : results, agentId: agent.id },
    log,
  );

  await deps.publishReply(reply(saved));
  const at = new Date().toISOString();
  for (const r of budgets ? [] : results) {
    deps.publishEvent?.({
      type: 'usage',
      tenantId: msg.tenantId,
      agentId: agent.id,
      conversationId: conversation.id,
      provider: r.provider,
      model: r.model,
      inputTokens: r.usage.inputTokens,
      outputTokens: r.usage.outputTokens,
      costUsdMicros: String(r.costUsdMicros ?? 0n),
      at,
    });
  }
  deps.publishEvent?.({
    type: 'conversation',
    tenantId: msg.tenantId,
    conversationId: conversation.id,
    agentId: agent.id,
    state: conversation.state,
    lastMessageId: saved.id,
    at,
  });
  log.info({ replyId: saved.id, modelCalls: calls.length, toolCalls: loop.toolCalls.length }, 'reply published');

  if (deps.memory) {
    // The whole turn goes into the window — tool calls with their results — ending with what
    // the user was actually sent. Never throws: memory failing costs context, not the reply.
    const said = loop.transcript.at(-1);
    const endsWithReply = said?.role === 'assistant' && !said.toolCalls?.length && said.content.trim() === saved.text;
    const entries: WindowEntry[] = [
      { role: 'user', content: msg.text },
      ...(loop.transcript.filter((m) => m.role !== 'system') as WindowEntry[]),
      ...(endsWithReply ? [] : [{ role: 'assistant' as const, content: saved.text }]),
    ];
    if (endsWithReply) entries[entries.length - 1] = { role: 'assistant', content: saved.text };
    await deps.memory.after(scope, { ...memoryTurn, entries });
  }
  return 'ack';
}
