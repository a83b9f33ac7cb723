import type { enums } from '@konstruct/db';
import { chars, invalid, isPlainObject, jsonBytes, type Checked } from './field-error.ts';

export const AGENT_LIMITS = {
  name: 120,
  role: 200,
  persona: 5_000,
  jobDescription: 10_000,
  statementOfWork: 20_000,
  systemPrompt: 20_000,
  businessFunctions: 20,
  businessFunction: 200,
  modelPreferencesBytes: 16 * 1024,
  models: 20,
} as const;

/** What a client sends; on update every field is optional and null means "leave as is". */
export interface AgentInput {
  name?: string | null;
  role?: string | null;
  persona?: string | null;
  jobDescription?: string | null;
  statementOfWork?: string | null;
  systemPrompt?: string | null;
  businessFunctions?: readonly string[] | null;
  modelPreferences?: unknown;
  onBudgetExhausted?: enums.BudgetAction | null;
  status?: enums.AgentStatus | null;
}

/** The validated columns to write: only the fields that were given. */
export interface AgentChanges {
  name?: string;
  role?: string;
  persona?: string;
  jobDescription?: string;
  statementOfWork?: string;
  systemPrompt?: string;
  businessFunctions?: string[];
  modelPreferences?: Record<string, unknown>;
  onBudgetExhausted?: enums.BudgetAction;
  status?: enums.AgentStatus;
}

const TEXT_FIELDS = ['role', 'persona', 'jobDescription', 'statementOfWork', 'systemPrompt'] as const;

export function validateAgentInput(input: AgentInput, mode: 'create' | 'update'): Checked<AgentChanges> {
  const out: AgentChanges = {};

  if (input.name != null) {
    const name = input.name.trim();
    if (chars(name) < 1 || chars(name) > AGENT_LIMITS.name)
      return invalid('name', `name must be 1–${AGENT_LIMITS.name} characters`);
    out.name = name;
  } else if (mode === 'create') {
    return invalid('name', 'name is required');
  }

  for (const field of TEXT_FIELDS) {
    const v = input[field];
    if (v == null) continue;
    if (chars(v) > AGENT_LIMITS[field]) return invalid(field, `${field} must be at most ${AGENT_LIMITS[field]} characters`);
    out[field] = field === 'role' ? v.trim() : v;
  }

  if (input.businessFunctions != null) {
    const list = input.businessFunctions.map((f) => f.trim());
    if (list.length > AGENT_LIMITS.businessFunctions)
      return invalid('businessFunctions', `at most ${AGENT_LIMITS.businessFunctions} business functions`);
    const bad = list.findIndex((f) => chars(f) < 1 || chars(f) > AGENT_LIMITS.businessFunction);
    if (bad >= 0)
      return invalid('businessFunctions', `business function ${bad + 1} must be 1–${AGENT_LIMITS.businessFunction} characters`);
    out.businessFunctions = list;
  }

  if (input.modelPreferences != null) {
    const prefs = input.modelPreferences;
    if (!isPlainObject(prefs)) return invalid('modelPreferences', 'modelPreferences must be a JSON object');
    if (jsonBytes(prefs) > AGENT_LIMITS.modelPreferencesBytes)
      return invalid('modelPreferences', `modelPreferences must be at most ${AGENT_LIMITS.modelPreferencesBytes} bytes`);
    if ('group' in prefs && typeof prefs.group !== 'string') return invalid('modelPreferences', 'modelPreferences.group must be a string');
    if ('models' in prefs) {
      const models = prefs.models;
      if (
        !Array.isArray(models) ||
        models.length > AGENT_LIMITS.models ||
        !models.every((m) => typeof m === 'string' && m.trim().length > 0)
      )
        return invalid('modelPreferences', `modelPreferences.models must be a list of at most ${AGENT_LIMITS.models} model names`);
    }
    out.modelPreferences = prefs;
  }

  if (input.onBudgetExhausted != null) out.onBudgetExhausted = input.onBudgetExhausted;
  if (input.status != null) out.status = input.status;
  return { ok: true, value: out };
}
