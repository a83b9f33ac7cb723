import { keyringFrom, type Logger } from '@konstruct/core';
import type { Db } from '@konstruct/db';
import type { RunnerConfig } from '../env.ts';
import { createAnthropicAdapter } from './providers/anthropic.ts';
import { createOllamaAdapter } from './providers/ollama.ts';
import { createOpenAiAdapter } from './providers/openai.ts';
import { LlmRouter, type RouterOptions } from './router.ts';
import { createTenantKeyResolver } from './tenant-keys.ts';

/** The runner's router: the three official SDKs, the platform keys from env, tenant keys from the database. */
export function createLlmRouter(
  config: Pick<RunnerConfig, 'openai' | 'anthropic' | 'ollama' | 'llm' | 'masterKey' | 'previousMasterKeys'>,
  deps: { db: Db; logger: Logger; onAttempt?: RouterOptions['onAttempt'] },
): LlmRouter {
  return new LlmRouter({
    adapters: { openai: createOpenAiAdapter(), anthropic: createAnthropicAdapter(), ollama: createOllamaAdapter() },
    platform: {
      openai: { baseUrl: config.openai.baseUrl, ...(config.openai.apiKey && { apiKey: config.openai.apiKey }) },
      anthropic: { baseUrl: config.anthropic.baseUrl, ...(config.anthropic.apiKey && { apiKey: config.anthropic.apiKey }) },
      ollama: { baseUrl: config.ollama.baseUrl, ...(config.ollama.apiKey && { apiKey: config.ollama.apiKey }) },
    },
    groups: config.llm.groups,
    tenantKeys: createTenantKeyResolver({
      db: deps.db,
      keyring: keyringFrom(config.masterKey, config.previousMasterKeys),
      ttlMs: config.llm.tenantKeyTtlMs,
      logger: deps.logger,
    }),
    timeoutMs: config.llm.timeoutMs,
    maxTokens: config.llm.maxTokens,
    retry: config.llm.retry,
    cooldown: config.llm.cooldown,
    logger: deps.logger,
    ...(deps.onAttempt && { onAttempt: deps.onAttempt }),
  });
}
