import { notFound, validationError } from '@konstruct/graphql';
import type { Db, Prisma, TenantScope } from '@konstruct/db';
import { validateAgentInput, type AgentInput } from '../domain/agent.ts';
import { isUuid } from '../domain/field-error.ts';
import { keyset, toPage, type PageArgs } from './keyset.ts';
import { asJson } from './prisma-errors.ts';
import { toolView } from './tool-definitions.ts';
import { WHATSAPP_AGENT_NEEDS_FUNCTIONS } from '../domain/whatsapp-scope.ts';

export type AgentRow = Prisma.AgentModel;

export async function getAgent(db: Db, scope: TenantScope, id: string): Promise<AgentRow | null> {
  if (!isUuid(id)) return null;
  return db.withTenant(scope, (tx) => tx.agent.findUnique({ where: { id } }));
}

export async function listAgents(db: Db, scope: TenantScope, args: PageArgs) {
  const k = keyset(args);
  const rows = await db.withTenant(scope, (tx) => tx.agent.findMany({ where: k.after, orderBy: k.orderBy, take: k.take }));
  return toPage(rows, k.first);
}

export async function createAgent(db: Db, scope: TenantScope, input: AgentInput) {
  const checked = validateAgentInput(input, 'create');
  if (!checked.ok) return validationError(checked.error.message, checked.error.field);
  const { modelPreferences, ...rest } = checked.value;
  return db.withTenant(scope, (tx) =>
    tx.agent.create({
      data: {
        ...rest,
        name: rest.name ?? '',
        ...(modelPreferences && { modelPreferences: asJson(modelPreferences) }),
        tenantId: scope.tenantId,
      },
    }),
  );
}

export async function updateAgent(db: Db, scope: TenantScope, id: string, input: AgentInput) {
  const checked = validateAgentInput(input, 'update');
  if (!checked.ok) return validationError(checked.error.message, checked.error.field);
  if (!isUuid(id)) return notFound('Agent', id);
  const { modelPreferences, ...rest } = checked.value;
  return db.withTenant(scope, async (tx) => {
    if (rest.businessFunctions?.length === 0) {
      // Locked first, so a WhatsApp connection being attached concurrently (tenancy holds this
      // row FOR SHARE while it checks the functions) is either seen here or sees the change.
      const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM agents WHERE id = ${id}::uuid FOR UPDATE`;
      if (locked.length === 0) return notFound('Agent', id);
      const onWhatsapp = await tx.channelConnection.count({ where: { agentId: id, kind: 'whatsapp' } });
      if (onWhatsapp > 0) return validationError(WHATSAPP_AGENT_NEEDS_FUNCTIONS, 'businessFunctions');
    }
    const { count } = await tx.agent.updateMany({
      where: { id },
      data: { ...rest, ...(modelPreferences && { modelPreferences: asJson(modelPreferences) }), updatedAt: new Date() },
    });
    if (count === 0) return notFound('Agent', id);
    return tx.agent.findUniqueOrThrow({ where: { id } });
  });
}

export async function deleteAgent(db: Db, scope: TenantScope, id: string) {
  if (!isUuid(id)) return notFound('Agent', id);
  const { count } = await db.withTenant(scope, (tx) => tx.agent.deleteMany({ where: { id } }));
  return count === 0 ? notFound('Agent', id) : { __typename: 'DeletedAgent' as const, id };
}

export async function agentTools(db: Db, scope: TenantScope, agentId: string) {
  const links = await db.withTenant(scope, (tx) =>
    tx.agentTool.findMany({ where: { agentId }, include: { tool: true }, orderBy: [{ createdAt: 'asc' }, { toolId: 'asc' }] }),
  );
  return links.map((l) => toolView(l.tool));
}

/**
 * Both ids are looked up under the tenant first: foreign keys are checked without row-level
 * security, so an insert alone would accept another tenant's tool id.
 */
export async function setToolAssignment(db: Db, scope: TenantScope, agentId: string, toolId: string, assigned: boolean) {
  if (!isUuid(agentId)) return notFound('Agent', agentId);
  if (!isUuid(toolId)) return notFound('ToolDefinition', toolId);
  return db.withTenant(scope, async (tx) => {
    const agent = await tx.agent.findUnique({ where: { id: agentId } });
    if (!agent) return notFound('Agent', agentId);
    const tool = await tx.toolDefinition.findUnique({ where: { id: toolId }, select: { id: true } });
    if (!tool) return notFound('ToolDefinition', toolId);
    if (assigned) {
      await tx.agentTool.createMany({ data: [{ tenantId: scope.tenantId, agentId, toolId }], skipDuplicates: true });
    } else {
      await tx.agentTool.deleteMany({ where: { agentId, toolId } });
    }
    return agent;
  });
}
