import type { Logger } from '@konstruct/core';
import { backoffMs, sleep as defaultSleep } from './backoff.ts';
import { DeploymentCooldown } from './cooldown.ts';
import { DEFAULT_GROUP, resolveChain, type Chain, type Deployment, type ModelGroups } from './deployments.ts';
import { LlmCallError } from './errors.ts';
import type { ProviderAdapter, ProviderCredentials } from './providers/adapter.ts';
import type { TenantKeySource } from './tenant-keys.ts';
import {
  LlmAborted,
  LlmUnavailable,
  type ChatModel,
  type ChatRequest,
  type ChatResult,
  type KeySource,
  type LlmAttempt,
  type ProviderName,
  type RoutedResult,
} from './types.ts';

export interface RetryPolicy {
  /** Extra tries on the same deployment after a 429, 5xx, timeout or connection error. */
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for: the next deployment is tried instead. */
  maxRetryAfterMs: number;
}

export interface RouterOptions {
  adapters: Record<ProviderName, ProviderAdapter>;
  /** The platform's own keys and API bases (env). */
  platform: Record<ProviderName, { apiKey?: string; baseUrl: string }>;
  /** Must contain the `default` group. */
  groups: ModelGroups;
  tenantKeys?: TenantKeySource;
  /** Per attempt, unless the request sets its own. */
  timeoutMs: number;
  /** When the request sets none (Anthropic requires one). */
  maxTokens: number;
  retry: RetryPolicy;
  cooldown: { failureThreshold: number; cooldownMs: number };
  logger?: Logger;
  /** Called for every attempt of every call, after the request's own `onAttempt`; must not throw. */
  onAttempt?(attempt: LlmAttempt, call: { tenantId?: string }): void;
  now?: () => number;
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

interface Credential extends ProviderCredentials {
  source: KeySource;
  /** Tenant provider_keys row id, for the cooldown key. */
  keyId?: string;
}

/**
 * Routes one chat call along an ordered fallback chain of deployments: retries a deployment
 * with exponential backoff (honouring Retry-After) on 429/5xx/timeouts/connection errors,
 * moves to the next deployment on anything else or when retries run out, skips deployments
 * on cooldown, prefers the tenant's own key, and reports every attempt. Throws LlmUnavailable
 * (with the attempts) when every deployment failed, LlmAborted when the caller's signal fired.
 *
 * A 401/403 with a tenant key is retried once on the same deployment with the platform key
 * (when there is one): the tenant's key was revoked or mistyped at the vendor, and the
 * employee keeps answering on the platform's account while the cached key is dropped so the
 * next call re-reads it. Without a platform key the next deployment is tried.
 */
export class LlmRouter implements ChatModel {
  private readonly cooldown: DeploymentCooldown;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly log?: Logger;

  constructor(private readonly opts: RouterOptions) {
    if (!opts.groups[DEFAULT_GROUP]?.length) throw new Error(`model groups need a non-empty "${DEFAULT_GROUP}" group`);
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? defaultSleep;
    this.cooldown = new DeploymentCooldown({ ...opts.cooldown, now: this.now });
    this.log = opts.logger?.child({ source: 'llm-router' });
  }

  /** The chain a request would use; for diagnostics and the portal. */
  chainFor(req: Pick<ChatRequest, 'model' | 'preferences'>): Chain {
    return resolveChain(this.opts.groups, req);
  }

  async complete(req: ChatRequest): Promise<RoutedResult> {
    const attempts: LlmAttempt[] = [];
    try {
      return await this.route(req, attempts);
    } catch (e) {
      throw e instanceof LlmAborted ? new LlmAborted(attempts) : e;
    }
  }

  private async route(req: ChatRequest, attempts: LlmAttempt[]): Promise<RoutedResult> {
    const { deployments } = this.chainFor(req);
    const report = (a: Omit<LlmAttempt, 'seq'>) => {
      const attempt = { ...a, seq: attempts.length + 1 } as LlmAttempt;
      attempts.push(attempt);
      for (const hook of [req.onAttempt, this.opts.onAttempt]) {
        try {
          hook?.(attempt, { tenantId: req.tenantId });
        } catch (e) {
          this.log?.error({ err: e }, 'onAttempt hook threw; ignored');
        }
      }
    };

    let cooled: Deployment | null = null;
    for (const [index, dep] of deployments.entries()) {
      const last = index === deployments.length - 1;
      const outcome = await this.tryDeployment(dep, req, report, { last, ignoreCooldown: false });
      if (outcome.result) return { ...outcome.result, attempts, fellBack: index > 0 };
      if (outcome.skippedForCooldown) cooled ??= dep;
    }
    // Everything on cooldown and nothing tried: one probe of the first such deployment beats
    // refusing outright for the rest of the cooldown when the provider may be back already.
    if (cooled && attempts.every((a) => a.outcome === 'skipped')) {
      const outcome = await this.tryDeployment(cooled, req, report, { last: true, ignoreCooldown: true });
      if (outcome.result) return { ...outcome.result, attempts, fellBack: deployments[0]?.id !== cooled.id };
    }
    throw new LlmUnavailable(summarize(attempts), { attempts });
  }

  private async tryDeployment(
    dep: Deployment,
    req: ChatRequest,
    report: (a: Omit<LlmAttempt, 'seq'>) => void,
    flags: { last: boolean; ignoreCooldown: boolean },
  ): Promise<{ result?: Omit<RoutedResult, 'attempts' | 'fellBack'>; skippedForCooldown?: boolean }> {
    const base = { deployment: dep.id, provider: dep.provider, model: dep.model };
    const onFailure = flags.last ? ('give_up' as const) : ('fallback' as const);
    const creds = await this.credentials(req.tenantId, dep.provider);
    if (!creds.length) {
      report({ ...base, try: 0, keySource: 'none', outcome: 'skipped', errorClass: 'no_credentials', message: `no ${dep.provider} key configured`, latencyMs: 0, next: onFailure });
      return {};
    }
    const usable = flags.ignoreCooldown ? creds : creds.filter((c) => this.cooldown.remainingMs(cooldownKey(dep, c)) === 0);
    if (!usable.length) {
      const waitMs = Math.min(...creds.map((c) => this.cooldown.remainingMs(cooldownKey(dep, c))));
      report({ ...base, try: 0, keySource: creds[0]!.source, outcome: 'skipped', errorClass: 'cooldown', message: `cooling down for another ${waitMs} ms`, latencyMs: 0, next: onFailure });
      return { skippedForCooldown: true };
    }

    let cred = usable[0]!;
    const platformFallback = usable.find((c) => c.source !== 'tenant');
    const adapter = this.opts.adapters[dep.provider];
    const timeoutMs = req.timeoutMs ?? this.opts.timeoutMs;
    let retries = 0;
    // A last-resort probe gets one try: the deployment was failing a moment ago.
    const maxRetries = flags.ignoreCooldown ? 0 : this.opts.retry.maxRetries;
    for (let attempt = 1; ; attempt++) {
      const started = this.now();
      let result: ChatResult;
      try {
        result = await adapter.chat({
          model: dep.model,
          messages: req.messages,
          ...(req.tools && { tools: req.tools }),
          ...(req.temperature !== undefined && { temperature: req.temperature }),
          maxTokens: req.maxTokens ?? this.opts.maxTokens,
          timeoutMs,
          ...(req.signal && { signal: req.signal }),
          credentials: { baseUrl: cred.baseUrl, ...(cred.apiKey && { apiKey: cred.apiKey }) },
        });
      } catch (e) {
        const err = e instanceof LlmCallError ? e : new LlmCallError('unknown', (e as Error)?.message ?? String(e));
        const latencyMs = this.now() - started;
        const failed = { ...base, try: attempt, keySource: cred.source, outcome: 'error' as const, errorClass: err.errorClass, ...(err.status !== undefined && { status: err.status }), message: err.message, latencyMs };
        if (err.errorClass === 'aborted' || req.signal?.aborted) {
          report({ ...failed, errorClass: 'aborted', next: 'give_up' });
          throw new LlmAborted();
        }
        const tripped = err.countsAgainstDeployment && this.cooldown.recordFailure(cooldownKey(dep, cred));
        this.log?.warn({ deployment: dep.id, errorClass: err.errorClass, status: err.status, keySource: cred.source, tenantId: req.tenantId, tripped }, 'LLM attempt failed');

        if (err.errorClass === 'auth' && cred.source === 'tenant') {
          this.opts.tenantKeys?.invalidate(req.tenantId!, dep.provider);
          if (platformFallback) {
            report({ ...failed, next: 'retry', retryInMs: 0 });
            cred = platformFallback;
            continue;
          }
        }
        const wantsRetry = err.retryable && retries < maxRetries && !tripped;
        const tooLong = err.retryAfterMs !== undefined && err.retryAfterMs > this.opts.retry.maxRetryAfterMs;
        if (wantsRetry && !tooLong) {
          retries += 1;
          const wait = err.retryAfterMs ?? backoffMs(retries, this.opts.retry, this.opts.random);
          report({ ...failed, next: 'retry', retryInMs: wait });
          try {
            await this.sleep(wait, req.signal);
          } catch {
            throw new LlmAborted();
          }
          continue;
        }
        report({ ...failed, next: onFailure });
        return {};
      }
      this.cooldown.recordSuccess(cooldownKey(dep, cred));
      report({ ...base, try: attempt, keySource: cred.source, outcome: 'ok', latencyMs: result.latencyMs, usage: result.usage, costUsdMicros: result.costUsdMicros });
      return { result: { ...result, deployment: dep.id, keySource: cred.source } };
    }
  }

  /** The tenant's key first (if any), then the platform's. Ollama may run without a key. */
  private async credentials(tenantId: string | undefined, provider: ProviderName): Promise<Credential[]> {
    const out: Credential[] = [];
    const platform = this.opts.platform[provider];
    if (tenantId && this.opts.tenantKeys) {
      try {
        const key = await this.opts.tenantKeys.resolve(tenantId, provider);
        if (key) out.push({ source: 'tenant', apiKey: key.apiKey, baseUrl: key.baseUrl ?? platform.baseUrl, keyId: key.keyId });
      } catch (e) {
        this.log?.error({ err: e, tenantId, provider }, 'tenant key look-up failed; using the platform key');
      }
    }
    if (platform.apiKey) out.push({ source: 'platform', apiKey: platform.apiKey, baseUrl: platform.baseUrl });
    else if (provider === 'ollama') out.push({ source: 'none', baseUrl: platform.baseUrl });
    return out;
  }
}

function cooldownKey(dep: Deployment, cred: Credential): string {
  return `${dep.id}|${cred.baseUrl}|${cred.source === 'tenant' ? `tenant:${cred.keyId}` : cred.source}`;
}

function summarize(attempts: LlmAttempt[]): string {
  if (!attempts.length) return 'no deployment configured';
  const byDeployment = new Map<string, LlmAttempt[]>();
  for (const a of attempts) byDeployment.set(a.deployment, [...(byDeployment.get(a.deployment) ?? []), a]);
  const parts = [...byDeployment].map(([dep, list]) => {
    const lastOne = list.at(-1)!;
    const tries = list.filter((a) => a.outcome === 'error').length;
    const status = lastOne.status ? ` HTTP ${lastOne.status}` : '';
    return `${dep} ${lastOne.errorClass}${status}${tries > 1 ? ` (${tries} tries)` : ''}`;
  });
  return `every deployment failed: ${parts.join('; ')}`;
}
