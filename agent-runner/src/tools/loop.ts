import type { Logger } from '@konstruct/core';
import type { ChatMessage, ChatModel, ChatRequest, ChatResult, ChatUsage, ToolCall } from '../llm/types.ts';
import { argumentKeys } from './arguments.ts';
import type { ToolAuditData, ToolCallContext, ToolExecution, Toolset } from './types.ts';

export interface ToolCallAudit extends ToolAuditData {
  /** The tool step (1-based) the call belongs to. */
  step: number;
}

export interface ToolCallRecord {
  step: number;
  call: ToolCall;
  execution: ToolExecution;
}

export interface ToolLoopStep {
  /** 1-based index of the model call. */
  call: number;
  result: ChatResult;
  /** The tool calls of this model call, executed (or skipped), in the model's order. */
  executions: ToolExecution[];
}

export interface ToolLoopOptions {
  model: ChatModel;
  /** Passed on every model call: model name or group, tenantId, preferences, maxTokens, timeoutMs, onAttempt… */
  request?: Omit<ChatRequest, 'messages' | 'tools'>;
  /** The prompt: system, history, the user's message. Not modified. */
  messages: ChatMessage[];
  tools: Toolset;
  context: ToolCallContext;
  /**
   * Most model turns whose tool calls are executed. After that many, the model is told the
   * limit is reached and asked once more for an answer; tool calls in that answer are not run.
   * So at most `maxSteps + 1` model calls. 0 offers no tools at all.
   */
  maxSteps: number;
  /** Tool calls run from one model turn; more get a "not executed" result. Default 8. */
  maxCallsPerStep?: number;
  /** Called for every tool call (executed or skipped) once it has finished; awaited, errors swallowed. */
  audit?(entry: ToolCallAudit): void | Promise<void>;
  /** Called after every model call and its tools; awaited, errors swallowed. */
  onStep?(step: ToolLoopStep): void | Promise<void>;
  /** What the user gets when the model, out of steps, still answers only with tool calls. */
  fallbackText?: string;
  logger?: Logger;
}

export type ToolLoopStopReason = 'answered' | 'max_steps' | 'model_error';

export interface ToolLoopResult {
  /**
   * `answered`: the model replied without (further) tools. `max_steps`: the step limit was
   * reached; `text` is the model's answer after being told so, or `fallbackText`.
   * `model_error`: a model call threw (`error`, e.g. LlmUnavailable); everything before it is kept.
   */
  stopReason: ToolLoopStopReason;
  /** The reply for the user; '' on `model_error` or when the model answered with nothing. */
  text: string;
  /** The last model result, or null when the first call failed. */
  final: ChatResult | null;
  /** Every model result in call order, the final one included: for usage, cost and budgets. */
  results: ChatResult[];
  /**
   * What this loop added after `messages`: each tool-calling assistant turn followed by its
   * results, then the final assistant answer (without tool calls). Every tool call in it has
   * its result, so it can go into the conversation window as is.
   */
  transcript: ChatMessage[];
  toolCalls: ToolCallRecord[];
  /** Tool steps executed. */
  steps: number;
  /** Failed tool calls at the end of the loop with no success after them (for the "repeated tool failure" escalation rule). */
  consecutiveToolFailures: number;
  /** The longest run of failed tool calls during the loop. */
  maxConsecutiveToolFailures: number;
  failedToolCalls: number;
  /** Set when `handoff_to_human` succeeded. */
  handoff: { handoffId: string | null } | null;
  /** Summed over `results`. */
  usage: ChatUsage;
  /** Summed over the results that have a price; `unpricedCalls` counts the others. */
  costUsdMicros: bigint;
  unpricedCalls: number;
  error?: unknown;
}

export const DEFAULT_TOOL_FALLBACK =
  "I'm sorry, I couldn't finish that just now. Please try again in a moment, or ask me to bring in a colleague.";

const limitNote = (maxSteps: number) =>
  `You have used all ${maxSteps} tool step${maxSteps === 1 ? '' : 's'} available for this message. Do not call any more tools: ` +
  'answer the user now with what you have, and say plainly if something could not be completed.';

/**
 * Runs a model with tools until it answers: each turn's tool calls are executed (in parallel,
 * results appended in the model's order), every call is audited, and tool failures go back to
 * the model as error results rather than ending the turn. The tools stay declared on the last
 * call even though it must not use them, because providers reject transcripts that contain
 * tool calls without tool definitions.
 */
export async function runToolLoop(opts: ToolLoopOptions): Promise<ToolLoopResult> {
  const { model, tools, context } = opts;
  const log = opts.logger?.child({ source: 'tool-loop' });
  const maxPerStep = Math.max(1, opts.maxCallsPerStep ?? 8);
  const offer = opts.maxSteps > 0 && tools.specs.length > 0;
  const signal = opts.request?.signal ?? context.signal;

  const results: ChatResult[] = [];
  const transcript: ChatMessage[] = [];
  const toolCalls: ToolCallRecord[] = [];
  let steps = 0;
  let streak = 0;
  let longest = 0;
  let failed = 0;
  let handoff: ToolLoopResult['handoff'] = null;

  const safely = async (what: string, fn: () => void | Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      log?.error({ err: e }, `${what} failed; the tool loop goes on`);
    }
  };
  const finish = (stopReason: ToolLoopStopReason, text: string, error?: unknown): ToolLoopResult => {
    const usage: ChatUsage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
    let cost = 0n;
    let unpriced = 0;
    for (const r of results) {
      usage.inputTokens += r.usage.inputTokens;
      usage.outputTokens += r.usage.outputTokens;
      usage.cacheReadTokens += r.usage.cacheReadTokens;
      usage.cacheWriteTokens += r.usage.cacheWriteTokens;
      if (r.costUsdMicros === null) unpriced += 1;
      else cost += r.costUsdMicros;
    }
    return {
      stopReason,
      text,
      final: results.at(-1) ?? null,
      results,
      transcript,
      toolCalls,
      steps,
      consecutiveToolFailures: streak,
      maxConsecutiveToolFailures: longest,
      failedToolCalls: failed,
      handoff,
      usage,
      costUsdMicros: cost,
      unpricedCalls: unpriced,
      ...(error !== undefined && { error }),
    };
  };
  const skip = (call: ToolCall, why: string): ToolExecution => ({
    toolCallId: call.id,
    name: call.name,
    content: JSON.stringify({ error: { code: 'not_executed', message: why } }),
    isError: true,
    audit: {
      tool: call.name,
      toolId: null,
      kind: 'unknown',
      toolCallId: call.id,
      outcome: 'skipped',
      errorCode: 'not_executed',
      latencyMs: 0,
      argumentKeys: argumentKeys(call),
    },
  });
  const auditAll = (step: number, executions: ToolExecution[]) =>
    Promise.all(executions.map((x) => opts.audit && safely('tool audit', () => opts.audit!({ ...x.audit, step }))));

  for (let call = 1; ; call += 1) {
    const atLimit = offer && steps >= opts.maxSteps;
    // The note is for this call only; the transcript keeps what was said, not instructions.
    const note: ChatMessage[] = atLimit ? [{ role: 'system', content: limitNote(opts.maxSteps) }] : [];
    let result: ChatResult;
    try {
      result = await model.complete({
        ...opts.request,
        messages: [...opts.messages, ...transcript, ...note],
        ...(offer && { tools: tools.specs }),
        ...(signal && { signal }),
      });
    } catch (e) {
      log?.warn({ err: e instanceof Error ? e.message : String(e), call, steps }, 'model call failed inside the tool loop');
      return finish('model_error', '', e);
    }
    results.push(result);

    if (!result.toolCalls.length || !offer || atLimit) {
      let executions: ToolExecution[] = [];
      if (result.toolCalls.length) {
        // Out of steps (or tools were never offered): the calls are reported, not run.
        executions = result.toolCalls.map((c) => skip(c, 'the tool step limit was reached'));
        result.toolCalls.forEach((c, i) => toolCalls.push({ step: steps + 1, call: c, execution: executions[i]! }));
        await auditAll(steps + 1, executions);
      }
      const text = result.text.trim() || (result.toolCalls.length ? (opts.fallbackText ?? DEFAULT_TOOL_FALLBACK) : '');
      transcript.push({ role: 'assistant', content: text });
      await safely('onStep', () => opts.onStep?.({ call, result, executions }));
      return finish(atLimit ? 'max_steps' : 'answered', text);
    }

    steps += 1;
    const calls = result.toolCalls;
    const executions = await Promise.all(
      calls.map((c, i) => (i < maxPerStep ? tools.execute(c, context) : Promise.resolve(skip(c, `at most ${maxPerStep} tool calls are run per step`)))),
    );
    transcript.push({ role: 'assistant', content: result.text, toolCalls: calls });
    calls.forEach((c, i) => {
      const x = executions[i]!;
      transcript.push({ role: 'tool', toolCallId: c.id, name: c.name, content: x.content, ...(x.isError && { isError: true }) });
      toolCalls.push({ step: steps, call: c, execution: x });
      if (x.audit.outcome === 'error') {
        failed += 1;
        streak += 1;
        longest = Math.max(longest, streak);
      } else if (x.audit.outcome === 'ok') {
        streak = 0;
      }
      if (x.handoff) handoff = x.handoff;
    });
    await auditAll(steps, executions);
    await safely('onStep', () => opts.onStep?.({ call, result, executions }));
  }
}
