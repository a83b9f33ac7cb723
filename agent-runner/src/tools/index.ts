export type {
  BuiltinName,
  HandoffOutcome,
  HandoffRequest,
  MemorySearchHit,
  RequestHandoff,
  SearchMemory,
  ToolAuditData,
  ToolCallContext,
  ToolErrorCode,
  ToolExecution,
  ToolKindName,
  Toolset,
} from './types.ts';
export { BUILTIN_NAMES } from './types.ts';
export { ToolRegistry, emptyToolset, type ToolRegistryDeps, type ForAgentOptions } from './registry.ts';
export {
  runToolLoop,
  DEFAULT_TOOL_FALLBACK,
  type ToolLoopOptions,
  type ToolLoopResult,
  type ToolLoopStep,
  type ToolLoopStopReason,
  type ToolCallAudit,
  type ToolCallRecord,
} from './loop.ts';
export { toolAuditEntry } from './audit.ts';
export { toolSignature, verifyToolSignature, SIGNATURE_HEADER, TIMESTAMP_HEADER, SIGNATURE_TOLERANCE_SEC } from './signature.ts';
export { checkAddress, type AddressVerdict } from './address-policy.ts';
export { systemResolver, type ResolveHost, type ResolvedAddress } from './guarded-request.ts';
