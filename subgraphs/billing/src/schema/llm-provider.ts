import { builder } from '../builder.ts';

export const LlmProvider = builder.enumType('LlmProvider', {
  description: 'An LLM vendor the runner can call.',
  values: {
    OPENAI: { value: 'openai' },
    ANTHROPIC: { value: 'anthropic' },
    OLLAMA: { value: 'ollama' },
  } as const,
});
