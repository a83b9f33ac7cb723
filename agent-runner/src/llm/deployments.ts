import { PROVIDERS, type ProviderName } from './types.ts';

/** One model at one provider: a link in a fallback chain. */
export interface Deployment {
  /** `provider:model`. */
  id: string;
  provider: ProviderName;
  model: string;
}

/** Named, ordered fallback chains, e.g. `{ default: [openai:gpt-4o-mini, anthropic:claude-3-5-haiku-latest] }`. */
export type ModelGroups = Record<string, Deployment[]>;

export const DEFAULT_GROUP = 'default';

const isProvider = (s: string): s is ProviderName => (PROVIDERS as readonly string[]).includes(s);

/**
 * `provider:model`; the model part may itself contain colons (`ollama:llama3.1:8b`). A name
 * without a known provider prefix is an OpenAI model, as the runner has always treated it.
 */
export function parseDeployment(spec: string): Deployment | null {
  const s = spec.trim();
  if (!s) return null;
  const colon = s.indexOf(':');
  const prefix = colon > 0 ? s.slice(0, colon) : '';
  if (isProvider(prefix)) {
    const model = s.slice(colon + 1).trim();
    return model ? { id: `${prefix}:${model}`, provider: prefix, model } : null;
  }
  return { id: `openai:${s}`, provider: 'openai', model: s };
}

/**
 * Platform groups from env (JSON object of group → list of `provider:model`). A `default`
 * group is always present: `openai:<defaultModel>` unless configured.
 */
export function parseModelGroups(json: string, defaultModel: string): { groups: ModelGroups } | { error: string } {
  let raw: unknown = {};
  if (json.trim()) {
    try {
      raw = JSON.parse(json);
    } catch (e) {
      return { error: `not JSON: ${(e as Error).message}` };
    }
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { error: 'must be a JSON object of group name → ["provider:model", …]' };
  const groups: ModelGroups = {};
  for (const [name, list] of Object.entries(raw)) {
    if (!Array.isArray(list) || list.length === 0) return { error: `group "${name}" must be a non-empty array` };
    const chain: Deployment[] = [];
    for (const item of list) {
      const d = typeof item === 'string' ? parseDeployment(item) : null;
      if (!d) return { error: `group "${name}": ${JSON.stringify(item)} is not "provider:model"` };
      chain.push(d);
    }
    groups[name] = dedupe(chain);
  }
  groups[DEFAULT_GROUP] ??= [parseDeployment(`openai:${defaultModel}`)!];
  return { groups };
}

export interface ModelPreferences {
  group?: string;
  models: Deployment[];
}

/** Agent.modelPreferences is free-form JSON; take what is usable and ignore the rest. */
export function parsePreferences(value: unknown): ModelPreferences {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { models: [] };
  const v = value as { group?: unknown; models?: unknown };
  const models = Array.isArray(v.models)
    ? v.models.flatMap((m) => {
        const d = typeof m === 'string' ? parseDeployment(m) : null;
        return d ? [d] : [];
      })
    : [];
  return { ...(typeof v.group === 'string' && v.group.trim() && { group: v.group.trim() }), models };
}

export interface Chain {
  /** The platform group the chain came from, if any. */
  group: string | null;
  deployments: Deployment[];
}

/**
 * The fallback chain for one call:
 * - the agent's `models`, in order, then its `group`'s chain when it names one;
 * - only a `group`: that group (an unknown group falls back to `default`);
 * - neither, but a `model` on the request: a group of that name, or that one model followed
 *   by the `default` group;
 * - nothing: the `default` group.
 * Duplicates keep their first position.
 */
export function resolveChain(groups: ModelGroups, input: { preferences?: unknown; model?: string }): Chain {
  const prefs = parsePreferences(input.preferences);
  const group = (name: string) => (groups[name] ? name : DEFAULT_GROUP);
  if (prefs.models.length) {
    if (!prefs.group) return { group: null, deployments: dedupe(prefs.models) };
    const g = group(prefs.group);
    return { group: g, deployments: dedupe([...prefs.models, ...groups[g]!]) };
  }
  if (prefs.group) {
    const g = group(prefs.group);
    return { group: g, deployments: groups[g]! };
  }
  const model = input.model?.trim();
  if (model) {
    if (groups[model]) return { group: model, deployments: groups[model] };
    const d = parseDeployment(model);
    if (d) return { group: DEFAULT_GROUP, deployments: dedupe([d, ...groups[DEFAULT_GROUP]!]) };
  }
  return { group: DEFAULT_GROUP, deployments: groups[DEFAULT_GROUP]! };
}

function dedupe(list: Deployment[]): Deployment[] {
  const seen = new Set<string>();
  return list.filter((d) => !seen.has(d.id) && seen.add(d.id));
}
