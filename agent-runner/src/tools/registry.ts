import type { Logger, MasterKeyring } from '@konstruct/core';
import type { Db, TenantScope } from '@konstruct/db';
import type { ToolCall, ToolSpec } from '../llm/types.ts';
import { argumentKeys, checkArguments, compileParameters, type ArgumentValidator } from './arguments.ts';
import { BUILTINS, builtinSpec, isBuiltinName, type BuiltinDeps, type BuiltinOutcome } from './builtins.ts';
import { systemResolver, type ResolveHost } from './guarded-request.ts';
import { callHttpTool, type HttpToolDefinition, type HttpToolOutcome } from './http-tool.ts';
import type {
  BuiltinName,
  RequestHandoff,
  SearchMemory,
  ToolAuditData,
  ToolCallContext,
  ToolErrorCode,
  ToolExecution,
  Toolset,
} from './types.ts';

export interface ToolRegistryDeps {
  db: Db;
  /** Decrypts the tools' HMAC secrets. */
  keyring: MasterKeyring;
  logger: Logger;
  /** `TOOLS_ALLOW_PRIVATE_NETWORK`: lets tools that ask for it (allowPrivateNetwork) reach private addresses. Development only. */
  allowPrivateNetwork: boolean;
  /** Enables `memory_search`; without it the built-in is not offered. */
  searchMemory?: SearchMemory;
  /** Enables `handoff_to_human`; without it the built-in is not offered. */
  requestHandoff?: RequestHandoff;
  /** How long an agent's tool list is reused; edits in the portal take effect within this. Default 10 s. */
  ttlMs?: number;
  now?: () => number;
  clock?: () => Date;
  resolveHost?: ResolveHost;
}

export interface ForAgentOptions {
  /**
   * Built-ins to offer even when the agent has no such tool assigned — e.g. `handoff_to_human`
   * when an escalation rule lets the model decide to hand off.
   */
  builtins?: BuiltinName[];
}

interface LoadedTool {
  id: string | null;
  name: string;
  kind: 'builtin' | 'http';
  spec: ToolSpec;
  validate: ArgumentValidator;
  builtin?: BuiltinName;
  http?: HttpToolDefinition;
}

const toolColumns = {
  id: true,
  name: true,
  description: true,
  kind: true,
  parameters: true,
  url: true,
  method: true,
  hmacSecretEnc: true,
  timeoutMs: true,
  maxResponseBytes: true,
  allowPrivateNetwork: true,
  updatedAt: true,
} as const;

const MAX_CACHED = 10_000;

/**
 * The tools of each agent: its assigned tool definitions (read under the tenant's scope, so
 * row-level security keeps other tenants' tools out) plus the built-ins the runner supports,
 * cached briefly. `forAgent` gives the model-facing specs and an executor that validates the
 * model's arguments against each tool's JSON Schema before running anything.
 */
export class ToolRegistry {
  private readonly agents = new Map<string, { expires: number; tools: Promise<LoadedTool[]> }>();
  private readonly validators = new Map<string, ArgumentValidator>();
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly builtinDeps: BuiltinDeps;

  constructor(private readonly deps: ToolRegistryDeps) {
    this.log = deps.logger.child({ source: 'tools' });
    this.now = deps.now ?? Date.now;
    this.builtinDeps = {
      ...(deps.searchMemory && { searchMemory: deps.searchMemory }),
      ...(deps.requestHandoff && { requestHandoff: deps.requestHandoff }),
      clock: deps.clock ?? (() => new Date()),
    };
  }

  async forAgent(scope: TenantScope, agentId: string, options: ForAgentOptions = {}): Promise<Toolset> {
    let tools = await this.load(scope, agentId);
    const extra = (options.builtins ?? []).filter((b) => !tools.some((t) => t.name === b));
    if (extra.length) tools = [...tools, ...extra.flatMap((b) => this.builtin(b, null, null))];
    const byName = new Map(tools.map((t) => [t.name, t]));
    return {
      scope,
      agentId,
      specs: tools.map((t) => t.spec),
      execute: (call, ctx) => this.execute(scope, agentId, byName, call, ctx),
    };
  }

  /** Forget an agent's cached tools (all of a tenant's agents without `agentId`). */
  invalidate(tenantId: string, agentId?: string): void {
    for (const key of this.agents.keys()) if (key === `${tenantId}:${agentId}` || (!agentId && key.startsWith(`${tenantId}:`))) this.agents.delete(key);
  }

  private load(scope: TenantScope, agentId: string): Promise<LoadedTool[]> {
    const key = `${scope.tenantId}:${agentId}`;
    const hit = this.agents.get(key);
    if (hit && hit.expires > this.now()) return hit.tools;
    const tools = this.query(scope, agentId);
    if (this.agents.size >= MAX_CACHED) this.agents.clear();
    this.agents.set(key, { expires: this.now() + (this.deps.ttlMs ?? 10_000), tools });
    // A failed read is not cached: the next turn tries again.
    tools.catch(() => {
      if (this.agents.get(key)?.tools === tools) this.agents.delete(key);
    });
    return tools;
  }

  private async query(scope: TenantScope, agentId: string): Promise<LoadedTool[]> {
    const rows = await this.deps.db.withTenant(scope, (tx) =>
      tx.agentTool.findMany({
        where: { agentId },
        orderBy: [{ createdAt: 'asc' }, { toolId: 'asc' }],
        select: { tool: { select: toolColumns } },
      }),
    );
    const loaded: LoadedTool[] = [];
    for (const { tool } of rows) {
      if (tool.kind === 'builtin') {
        if (!isBuiltinName(tool.name)) {
          this.log.warn({ tenantId: scope.tenantId, agentId, tool: tool.name }, 'assigned builtin tool is not one the runner knows; not offered');
          continue;
        }
        loaded.push(...this.builtin(tool.name, tool.id, tool.description));
        continue;
      }
      const cacheKey = `${tool.id}:${tool.updatedAt.getTime()}`;
      let validate = this.validators.get(cacheKey);
      if (!validate) {
        const compiled = compileParameters(tool.parameters);
        if (!compiled.ok) {
          // A schema the validator rejects would likely make the provider reject the whole request.
          this.log.warn({ tenantId: scope.tenantId, agentId, tool: tool.name, error: compiled.error }, "tool's parameters are not a usable JSON Schema; not offered");
          continue;
        }
        validate = compiled.validate;
        if (this.validators.size >= MAX_CACHED) this.validators.clear();
        this.validators.set(cacheKey, validate);
      }
      loaded.push({
        id: tool.id,
        name: tool.name,
        kind: 'http',
        spec: { name: tool.name, description: tool.description, parameters: tool.parameters as Record<string, unknown> },
        validate,
        http: tool,
      });
    }
    return loaded;
  }

  private builtin(name: BuiltinName, id: string | null, description: string | null): LoadedTool[] {
    if (!BUILTINS[name].available(this.builtinDeps)) return [];
    const cacheKey = `builtin:${name}`;
    let validate = this.validators.get(cacheKey);
    if (!validate) {
      const compiled = compileParameters(BUILTINS[name].parameters);
      if (!compiled.ok) throw new Error(`built-in ${name} has an invalid schema: ${compiled.error}`);
      validate = compiled.validate;
      this.validators.set(cacheKey, validate);
    }
    return [{ id, name, kind: 'builtin', spec: builtinSpec(name, description), validate, builtin: name }];
  }

  private async execute(
    scope: TenantScope,
    agentId: string,
    tools: Map<string, LoadedTool>,
    call: ToolCall,
    ctx: ToolCallContext,
  ): Promise<ToolExecution> {
    const started = performance.now();
    const tool = tools.get(call.name);
    const audit = (outcome: Partial<ToolAuditData>): ToolAuditData => ({
      tool: call.name,
      toolId: tool?.id ?? null,
      kind: tool?.kind ?? 'unknown',
      toolCallId: call.id,
      outcome: 'ok',
      latencyMs: Math.round(performance.now() - started),
      argumentKeys: argumentKeys(call),
      ...outcome,
    });
    const failed = (code: ToolErrorCode, message: string, extra: Partial<ToolAuditData> = {}): ToolExecution => ({
      toolCallId: call.id,
      name: call.name,
      content: JSON.stringify({ error: { code, message } }),
      isError: true,
      audit: audit({ outcome: 'error', errorCode: code, ...extra }),
    });

    if (!tool) {
      const known = [...tools.keys()];
      return failed('unknown_tool', `there is no tool named ${JSON.stringify(call.name)}${known.length ? `; available: ${known.join(', ')}` : ''}`);
    }
    const checked = checkArguments(tool.validate, call);
    if (!checked.ok) return failed('invalid_arguments', checked.message);

    let outcome: BuiltinOutcome | HttpToolOutcome;
    try {
      if (tool.builtin) {
        outcome = await BUILTINS[tool.builtin].run({ scope, agentId, toolCallId: call.id, args: checked.args, ctx }, this.builtinDeps);
      } else {
        outcome = await callHttpTool(
          tool.http!,
          checked.args,
          { toolCallId: call.id, ...(ctx.signal && { signal: ctx.signal }) },
          {
            keyring: this.deps.keyring,
            allowPrivateNetwork: this.deps.allowPrivateNetwork,
            resolve: this.deps.resolveHost ?? systemResolver,
            now: this.now,
            logger: this.log,
          },
        );
      }
    } catch (e) {
      this.log.error({ err: e, tenantId: scope.tenantId, agentId, tool: call.name }, 'tool failed unexpectedly');
      return failed('failed', 'the tool failed unexpectedly');
    }

    const http: Partial<ToolAuditData> = {};
    if ('status' in outcome && outcome.status !== undefined) http.status = outcome.status;
    if ('responseBytes' in outcome && outcome.responseBytes !== undefined) http.responseBytes = outcome.responseBytes;
    if (!outcome.ok) return failed(outcome.code, outcome.message, http);
    return {
      toolCallId: call.id,
      name: call.name,
      content: outcome.content,
      isError: false,
      audit: audit(http),
      ...('handoff' in outcome && outcome.handoff && { handoff: outcome.handoff }),
    };
  }
}

/** A toolset with no tools (tools disabled): the loop then makes one plain model call. */
export function emptyToolset(scope: TenantScope, agentId: string): Toolset {
  return {
    scope,
    agentId,
    specs: [],
    execute: async (call) => ({
      toolCallId: call.id,
      name: call.name,
      content: JSON.stringify({ error: { code: 'unknown_tool', message: 'no tools are available' } }),
      isError: true,
      audit: { tool: call.name, toolId: null, kind: 'unknown', toolCallId: call.id, outcome: 'error', errorCode: 'unknown_tool', latencyMs: 0, argumentKeys: argumentKeys(call) },
    }),
  };
}
