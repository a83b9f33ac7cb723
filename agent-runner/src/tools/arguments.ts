import { Ajv, type ValidateFunction } from 'ajv';
import type { ToolCall } from '../llm/types.ts';

export type ArgumentValidator = ValidateFunction;

/**
 * Compiles a tool's JSON Schema. Each schema gets its own Ajv instance: schemas are tenant
 * input, and a shared instance would let one tenant's `$id` collide with, or be `$ref`erenced
 * by, another tenant's schema. Compiled validators are cached by the registry per tool
 * version, so this runs when a tool changes, not per call. `$schema` is dropped because the
 * models' function-calling dialects ignore it and Ajv would insist on knowing the draft.
 */
export function compileParameters(schema: unknown): { ok: true; validate: ArgumentValidator } | { ok: false; error: string } {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return { ok: false, error: 'parameters is not a JSON Schema object' };
  const { $schema: _ignored, ...rest } = schema as Record<string, unknown>;
  try {
    const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: true, validateFormats: false, logger: false });
    return { ok: true, validate: ajv.compile(rest) };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

const MAX_REPORTED_ERRORS = 5;

/**
 * The model's arguments checked against the tool's schema. On success, a copy with schema
 * defaults filled in; on failure, a message for the model naming what to fix.
 */
export function checkArguments(validate: ArgumentValidator, call: ToolCall): { ok: true; args: Record<string, unknown> } | { ok: false; message: string } {
  if (call.invalidArguments !== undefined)
    return { ok: false, message: `the arguments were not a JSON object (${truncate(call.invalidArguments, 200)}); call the tool again with a JSON object` };
  const args = structuredClone(call.arguments);
  if (validate(args)) return { ok: true, args };
  const errors = (validate.errors ?? []).slice(0, MAX_REPORTED_ERRORS).map((e) => {
    const where = e.instancePath ? `arguments${e.instancePath.replace(/\//g, '.')}` : 'arguments';
    const extra =
      e.keyword === 'additionalProperties'
        ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`
        : e.keyword === 'enum'
          ? ` (${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)})`
          : '';
    return `${where} ${e.message ?? 'is invalid'}${extra}`;
  });
  return { ok: false, message: `the arguments do not match the tool's parameters: ${errors.join('; ')}` };
}

export function argumentKeys(call: ToolCall): string[] {
  if (call.invalidArguments !== undefined) return [];
  return Object.keys(call.arguments)
    .slice(0, 50)
    .map((k) => truncate(k, 64))
    .sort();
}

export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}…`;
}
