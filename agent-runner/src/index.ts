export { startRunner, type Runner } from './server.ts';
export { loadEnv, type RunnerConfig } from './env.ts';
export { buildPrompt, systemPrompt } from './loop/prompt.ts';
