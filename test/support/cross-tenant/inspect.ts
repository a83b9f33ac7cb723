import type { Federation } from '../federation.ts';
import type { GeneratedCall } from './generate.ts';

export interface CallResult {
  call: GeneratedCall;
  label: string;
  status: number;
  body: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

/** Runs the calls with at most `concurrency` in flight. */
export async function runCalls(
  fed: Federation,
  calls: GeneratedCall[],
  headers: Record<string, string>,
  label: string,
  concurrency = 8,
): Promise<CallResult[]> {
  const results: CallResult[] = new Array(calls.length);
  let next = 0;
  const worker = async () => {
    while (next < calls.length) {
      const i = next++;
      const call = calls[i]!;
      const r = await fed.gql(call.query, call.variables, headers);
      results[i] = { call, label, status: r.status, body: { data: r.data, errors: r.errors } };
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

/**
 * The parts of an answer that would reveal the victim: any forbidden string (case-insensitive)
 * in the data or the errors. The victim ids the caller itself sent may be echoed back inside
 * an expected-failure object (a type implementing Error, e.g. NotFound { id }) or a GraphQL
 * error — that tells the caller nothing new — but anywhere else they count.
 */
export function findLeaks(result: CallResult, forbidden: string[], errorTypes: Set<string>): string[] {
  const echoes = result.call.victimValues.map((v) => v.toLowerCase());
  const scrub = (s: string) => {
    let out = s.toLowerCase();
    for (const e of echoes) out = out.split(e).join('<echoed-input>');
    return out;
  };
  const walk = (v: unknown, inError: boolean): unknown => {
    if (typeof v === 'string') return inError ? scrub(v) : v.toLowerCase();
    if (Array.isArray(v)) return v.map((x) => walk(x, inError));
    if (v && typeof v === 'object') {
      const obj = v as Record<string, unknown>;
      const err = inError || (typeof obj.__typename === 'string' && errorTypes.has(obj.__typename));
      return Object.fromEntries(Object.entries(obj).map(([k, x]) => [k, walk(x, err)]));
    }
    return v;
  };
  const text = JSON.stringify({ data: walk(result.body.data ?? null, false), errors: walk(result.body.errors ?? [], true) });
  const found: string[] = [];
  for (const f of forbidden) {
    const needle = f.toLowerCase();
    const at = text.indexOf(needle);
    if (at >= 0) found.push(`"${f}" in …${text.slice(Math.max(0, at - 120), at + needle.length + 60)}…`);
  }
  return found;
}

/** A call the server could not even run as written: the harness generated something invalid. */
export function harnessError(result: CallResult): string | undefined {
  for (const e of result.body.errors ?? []) {
    const code = String(e.extensions?.code ?? '');
    if (code === 'GRAPHQL_VALIDATION_FAILED' || code === 'GRAPHQL_PARSE_FAILED') return `${code}: ${e.message}`;
    if (code === 'BAD_USER_INPUT' && /^Variable "\$/.test(e.message)) return `${code}: ${e.message}`;
  }
  if (result.status === 429) return 'rate limited';
  return undefined;
}

/** How the server answered: the union member, null, an empty list, or the error code. */
export function outcome(result: CallResult): string {
  const errs = result.body.errors ?? [];
  if (errs.length) return `error:${String(errs[0]!.extensions?.code ?? 'none')}`;
  const data = result.body.data as Record<string, unknown> | null | undefined;
  const v = data ? Object.values(data)[0] : undefined;
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return v.length ? 'list' : 'empty list';
  const t = (v as { __typename?: string }).__typename;
  return t ? `data:${t}` : 'data';
}

export function describeCall(result: CallResult): string {
  const args = JSON.stringify(result.call.variables);
  return `[${result.label}] ${result.call.field} (${result.call.description}) args=${args.length > 300 ? `${args.slice(0, 300)}…` : args}`;
}
