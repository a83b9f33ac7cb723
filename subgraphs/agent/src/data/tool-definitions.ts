import { randomUUID } from 'node:crypto';
import { encryptSecret, secretContext, type MasterKeyring } from '@konstruct/core';
import { notFound, validationError } from '@konstruct/graphql';
import type { Db, Prisma, TenantScope } from '@konstruct/db';
import { isUuid } from '../domain/field-error.ts';
import { applyToolInput, type ToolDefinitionInput } from '../domain/tool-definition.ts';
import { keyset, toPage, type PageArgs } from './keyset.ts';
import { asJson, isUniqueViolation } from './prisma-errors.ts';

/** A tool as the API shows it: the sealed secret never leaves this module, only whether one is set. */
export type ToolView = Omit<Prisma.ToolDefinitionModel, 'hmacSecretEnc'> & { hmacSecretSet: boolean };

export function toolView(row: Prisma.ToolDefinitionModel): ToolView {
  const { hmacSecretEnc, ...rest } = row;
  return { ...rest, hmacSecretSet: hmacSecretEnc != null };
}

const seal = (keyring: MasterKeyring, toolId: string, plaintext: string) =>
  encryptSecret(keyring, plaintext, secretContext('tool_definitions', 'hmac_secret', toolId));

const nameTaken = (name: string | null | undefined) =>
  validationError(`a tool named ${JSON.stringify(name ?? '')} already exists`, 'name');

export async function getToolDefinition(db: Db, scope: TenantScope, id: string): Promise<ToolView | null> {
  if (!isUuid(id)) return null;
  const row = await db.withTenant(scope, (tx) => tx.toolDefinition.findUnique({ where: { id } }));
  return row && toolView(row);
}

export async function listToolDefinitions(db: Db, scope: TenantScope, args: PageArgs) {
  const k = keyset(args);
  const rows = await db.withTenant(scope, (tx) =>
    tx.toolDefinition.findMany({ where: k.after, orderBy: k.orderBy, take: k.take }),
  );
  return toPage(rows, k.first, toolView);
}

export async function createToolDefinition(db: Db, keyring: MasterKeyring, scope: TenantScope, input: ToolDefinitionInput) {
  const checked = applyToolInput(null, input);
  if (!checked.ok) return validationError(checked.error.message, checked.error.field);
  const { state, hmacSecret } = checked.value;
  // The id is chosen here because the sealed secret is bound to its row.
  const id = randomUUID();
  try {
    const row = await db.withTenant(scope, (tx) =>
      tx.toolDefinition.create({
        data: {
          ...state,
          id,
          parameters: asJson(state.parameters),
          hmacSecretEnc: hmacSecret ? seal(keyring, id, hmacSecret) : null,
          tenantId: scope.tenantId,
        },
      }),
    );
    return toolView(row);
  } catch (e) {
    if (isUniqueViolation(e)) return nameTaken(state.name);
    throw e;
  }
}

export async function updateToolDefinition(
  db: Db,
  keyring: MasterKeyring,
  scope: TenantScope,
  id: string,
  input: ToolDefinitionInput,
) {
  if (!isUuid(id)) return notFound('ToolDefinition', id);
  try {
    return await db.withTenant(scope, async (tx) => {
      const current = await tx.toolDefinition.findUnique({ where: { id } });
      if (!current) return notFound('ToolDefinition', id);
      const checked = applyToolInput(current, input);
      if (!checked.ok) return validationError(checked.error.message, checked.error.field);
      const { state, hmacSecret } = checked.value;
      const row = await tx.toolDefinition.update({
        where: { id },
        data: {
          ...state,
          parameters: asJson(state.parameters),
          ...(hmacSecret !== undefined && { hmacSecretEnc: hmacSecret === null ? null : seal(keyring, id, hmacSecret) }),
        },
      });
      return toolView(row);
    });
  } catch (e) {
    if (isUniqueViolation(e)) return nameTaken(input.name);
    throw e;
  }
}

export async function deleteToolDefinition(db: Db, scope: TenantScope, id: string) {
  if (!isUuid(id)) return notFound('ToolDefinition', id);
  const { count } = await db.withTenant(scope, (tx) => tx.toolDefinition.deleteMany({ where: { id } }));
  return count === 0 ? notFound('ToolDefinition', id) : { __typename: 'DeletedToolDefinition' as const, id };
}
