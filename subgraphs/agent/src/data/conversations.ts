import type { Db, Prisma, TenantScope, enums } from '@konstruct/db';
import { isUuid } from '../domain/field-error.ts';
import { keyset, toPage, type Page, type PageArgs } from './keyset.ts';

export type ConversationRow = Prisma.ConversationModel;
export type MessageRow = Prisma.MessageModel;
export type HandoffRow = Prisma.HandoffModel;

const empty = <T>(): Page<T> => ({ items: [], nextCursor: null });

export async function getConversation(db: Db, scope: TenantScope, id: string): Promise<ConversationRow | null> {
  if (!isUuid(id)) return null;
  return db.withTenant(scope, (tx) => tx.conversation.findUnique({ where: { id } }));
}

export async function listConversations(
  db: Db,
  scope: TenantScope,
  filter: { agentId?: string | null; state?: enums.ConversationState | null },
  args: PageArgs,
): Promise<Page<ConversationRow>> {
  const k = keyset(args);
  if (filter.agentId != null && !isUuid(filter.agentId)) return empty();
  const where: Prisma.ConversationWhereInput = {
    AND: [k.after, { ...(filter.agentId != null && { agentId: filter.agentId }), ...(filter.state != null && { state: filter.state }) }],
  };
  const rows = await db.withTenant(scope, (tx) => tx.conversation.findMany({ where, orderBy: k.orderBy, take: k.take }));
  return toPage(rows, k.first);
}

export async function listMessages(db: Db, scope: TenantScope, conversationId: string, args: PageArgs): Promise<Page<MessageRow>> {
  const k = keyset(args);
  const rows = await db.withTenant(scope, (tx) =>
    tx.message.findMany({ where: { AND: [k.after, { conversationId }] }, orderBy: k.orderBy, take: k.take }),
  );
  return toPage(rows, k.first);
}

export async function getMessage(db: Db, scope: TenantScope, id: string): Promise<MessageRow | null> {
  if (!isUuid(id)) return null;
  return db.withTenant(scope, (tx) => tx.message.findUnique({ where: { id } }));
}

export async function getHandoff(db: Db, scope: TenantScope, id: string): Promise<HandoffRow | null> {
  if (!isUuid(id)) return null;
  return db.withTenant(scope, (tx) => tx.handoff.findUnique({ where: { id } }));
}

export async function listHandoffs(
  db: Db,
  scope: TenantScope,
  filter: { status?: enums.HandoffStatus | null },
  args: PageArgs,
): Promise<Page<HandoffRow>> {
  const k = keyset(args);
  const where: Prisma.HandoffWhereInput = { AND: [k.after, filter.status != null ? { status: filter.status } : {}] };
  const rows = await db.withTenant(scope, (tx) => tx.handoff.findMany({ where, orderBy: k.orderBy, take: k.take }));
  return toPage(rows, k.first);
}
