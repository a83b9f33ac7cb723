export type { WindowEntry, WindowTurn, WindowToolCall, WindowUserEntry, WindowAssistantEntry, WindowToolEntry } from './types.ts';
export { ConversationWindow, DEFAULT_WINDOW, validateTurn, turnsFromMessages, type WindowConfig, type WindowLoad, type AppendResult } from './window.ts';
export { estimateEntryTokens, estimateEntriesTokens, estimateTextTokens } from './tokens.ts';
export {
  LongTermMemory,
  formatMemories,
  type RecallArgs,
  type RecalledMemory,
  type RememberArgs,
  type RememberOutcome,
  type StoreArgs,
} from './long-term.ts';
export { assessSentence, memoriesFrom, type MemoryKind, type MemoryVerdict, type SkipReason } from './worth-remembering.ts';
export { createEmbedder, openAiEmbedder, ollamaEmbedder, EmbeddingFailed, type EmbedderConfig } from './embedders.ts';
export { ensureMemoryIndexes, startMemoryIndexMaintenance, MEMORY_INDEX_THRESHOLD_DEFAULT, type IndexAction, type OwnerQuery } from './maintenance.ts';
export { memoryEnvShape, memoryConfigFrom, type MemoryConfig } from './config.ts';
export { createTurnMemory, type TurnMemory, type TurnContext, type BeforeTurn, type AfterTurn } from './turn-memory.ts';
