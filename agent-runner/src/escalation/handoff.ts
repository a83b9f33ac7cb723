import { randomUUID } from 'node:crypto';
import { attachmentMarkers, derivedUuid, type ChannelKind, type KonstructMessageV1, type KonstructReplyV1, type Logger, type TenantEvent } from '@konstruct/core';
import { Prisma, tenantScope, type Db, type TenantScope, type TenantTx } from '@konstruct/db';
import type { HandlerResult } from '@konstruct/bus';
import { auditRow, recordAudit, type AuditEntry } from '../audit/recorder.ts';
import type { HandoffRequest, HandoffOutcome } from '../tools/types.ts';
import { isReleaseCommand, parseTarget, type SlackTarget } from './rules.ts';

/** How to reach the customer again: the channel and thread their conversation is on. */
export interface CustomerRoute {
  channel: { kind: ChannelKind; connectionId: string; address: string };
  replyTo?: string;
  recipient: string;
}

/**
 * What `Handoff.humanThread` holds. The runner writes the target, the customer's route and the
 * ids of the human-side conversation and post; the bridge adds `ts` and `ref` (the Slack thread
 * of the post) once it has posted it.
 */
export interface HumanThread extends SlackTarget {
  humanConversationId: string;
  postMessageId: string;
  customer: CustomerRoute;
  ts?: string;
  ref?: string;
}

export interface StartHandoff {
  scope: TenantScope;
  agent: { id: string; name: string };
  conversationId: string;
  customer: CustomerRoute;
  target: SlackTarget;
  ruleId: string | null;
  trigger: string;
  reason: string;
  summary: string;
  /** The inbound message the handoff happened on. */
  messageId: string | null;
}

export type StartOutcome = { ok: true; handoffId: string; created: boolean } | { ok: false; error: string };

export interface EscalationDeps {
  db: Db;
  publishReply(reply: KonstructReplyV1): Promise<void>;
  publishEvent?(event: TenantEvent): void;
  /**
   * After a person's message was relayed into the conversation, and after a release: e.g. drop
   * the conversation's cached window so the employee's next prompt is rebuilt from Postgres,
   * including what the people wrote (whoever releases it, Slack or the API).
   */
  onTranscriptChanged?(scope: TenantScope, conversationId: string): Promise<void>;
  logger: Logger;
}

/** What the customer is told when a person takes over. */
export function handoffNotice(agentName: string): string {
  return `I've asked a colleague to take over. A person from the team will reply to you here shortly. (${agentName})`;
}

const TRANSCRIPT_MESSAGES = 30;
const AUTHOR_LABEL: Record<string, string> = { end_user: 'Customer', agent: 'Agent', human: 'Team', system: 'System' };

function postText(agentName: string, input: StartHandoff, customer: CustomerRoute, transcript: { author: string; text: string }[]): string {
  const lines = [
    `*Handoff from ${agentName}*: ${input.reason}`,
    `Customer ${customer.recipient} on ${customer.channel.kind}.`,
    input.summary ? `*Summary:* ${input.summary}` : '',
    '*Transcript:*',
    ...transcript.filter((m) => m.text).map((m) => `> *${m.author === 'agent' ? agentName : (AUTHOR_LABEL[m.author] ?? m.author)}:* ${m.text.replace(/\n/g, '\n> ')}`),
    '',
    `Reply in this thread to answer the customer. Write \`release\` to hand the conversation back to ${agentName}.`,
  ];
  return lines.filter((l, i) => l !== '' || i === lines.length - 2).join('\n');
}

/**
 * Handoffs to a person (AGNT-05): start one (post a summary and the transcript to the tenant's
 * human Slack channel, pause the employee on the conversation), relay what the humans write
 * in that thread to the customer, and release the conversation back to the employee.
 *
 * The human side is a conversation of its own (on the target's Slack connection, created
 * paused so the employee never answers there) holding the post, which the bridge delivers like
 * any reply; the bridge then records the post's thread on the handoff (`humanThread.ref`), and
 * replies in that thread arrive as inbound messages of that conversation.
 */
export class Escalation {
  private readonly log: Logger;
  /** The customer route of each turn in progress, by inbound message id, for the handoff tool. */
  private readonly turns = new Map<string, { customer: CustomerRoute; agentName: string; target: SlackTarget; ruleId: string | null }>();

  constructor(private readonly deps: EscalationDeps) {
    this.log = deps.logger.child({ source: 'escalation' });
  }

  /** Lets the model hand off during this turn (the `model_decides` rule). Call `endTurn` after. */
  beginTurn(messageId: string, turn: { customer: CustomerRoute; agentName: string; target: SlackTarget; ruleId: string | null }): void {
    this.turns.set(messageId, turn);
  }

  endTurn(messageId: string): void {
    this.turns.delete(messageId);
  }

  /** The `handoff_to_human` tool's backend. */
  readonly requestHandoff = async (req: HandoffRequest): Promise<HandoffOutcome> => {
    const turn = req.messageId ? this.turns.get(req.messageId) : undefined;
    if (!turn) return { ok: false, error: 'no human channel is configured for this conversation' };
    const r = await this.start({
      scope: req.scope,
      agent: { id: req.agentId, name: turn.agentName },
      conversationId: req.conversationId,
      customer: turn.customer,
      target: turn.target,
      ruleId: turn.ruleId,
      trigger: 'model_decides',
      reason: req.reason,
      summary: req.summary,
      messageId: req.messageId,
    });
    return r.ok ? { ok: true, handoffId: r.handoffId } : r;
  };

  /**
   * Opens a handoff, or returns the conversation's open one. Creates the handoff, the human-side
   * conversation and its post, pauses the conversation and audits `handoff.created` in one
   * transaction, then publishes the post for the bridge.
   */
  async start(input: StartHandoff): Promise<StartOutcome> {
    const { scope } = input;
    const log = this.log.child({ tenantId: scope.tenantId, conversationId: input.conversationId });
    const handoffId = randomUUID();
    const humanConversationId = randomUUID();
    const postMessageId = randomUUID();
    const audit: AuditEntry = {
      actorKind: 'agent',
      actorId: input.agent.id,
      action: 'handoff.created',
      subjectType: 'handoff',
      subjectId: handoffId,
      data: {
        handoffId,
        conversationId: input.conversationId,
        ruleId: input.ruleId,
        trigger: input.trigger,
        reason: input.reason.slice(0, 500),
        messageId: input.messageId,
        target: { kind: input.target.kind, connectionId: input.target.connectionId, channel: input.target.channel },
      },
    };
    type Post = { id: string; text: string; deliveryState: string; handoffId: string; humanConversationId: string; target: SlackTarget };
    const run = (withAudit: boolean) =>
      this.deps.db.withTenant(scope, async (tx): Promise<{ created: boolean; post: Post | null } | { error: string }> => {
        const open = await tx.handoff.findFirst({ where: { conversationId: input.conversationId, status: 'open' }, orderBy: { createdAt: 'desc' } });
        if (open) return { created: false, post: await existingPost(tx, open.id, open.humanThread) };
        // A foreign key does not see row-level security: check the target is this tenant's own Slack connection.
        const connection = await tx.channelConnection.findFirst({ where: { id: input.target.connectionId, kind: 'slack' }, select: { id: true } });
        if (!connection) return { error: `the human channel's Slack connection ${input.target.connectionId} was not found` };
        const transcript = (
          await tx.message.findMany({
            where: { conversationId: input.conversationId },
            orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
            take: TRANSCRIPT_MESSAGES,
            select: { author: true, text: true },
          })
        ).reverse();
        const thread: HumanThread = { ...input.target, humanConversationId, postMessageId, customer: input.customer };
        await tx.handoff.create({
          data: {
            id: handoffId,
            tenantId: scope.tenantId,
            conversationId: input.conversationId,
            agentId: input.agent.id,
            ruleId: input.ruleId,
            reason: input.reason.slice(0, 2000),
            summary: input.summary.slice(0, 8000),
            humanThread: thread as unknown as Prisma.InputJsonValue,
          },
        });
        await tx.conversation.create({
          data: {
            id: humanConversationId,
            tenantId: scope.tenantId,
            agentId: input.agent.id,
            connectionId: input.target.connectionId,
            channelKind: 'slack',
            externalRef: `handoff:${handoffId}`,
            endUserExternalId: input.target.channel,
            state: 'paused',
          },
        });
        const text = postText(input.agent.name, input, input.customer, transcript);
        await tx.message.create({
          data: {
            id: postMessageId,
            tenantId: scope.tenantId,
            conversationId: humanConversationId,
            direction: 'outbound',
            author: 'system',
            channelKind: 'slack',
            text,
            deliveryState: 'pending',
          },
        });
        await tx.conversation.update({ where: { id: input.conversationId }, data: { state: 'paused' } });
        if (withAudit) await tx.auditEvent.create({ data: auditRow(scope.tenantId, audit) });
        return { created: true, post: { id: postMessageId, text, deliveryState: 'pending', handoffId, humanConversationId, target: input.target } };
      });

    let result: Awaited<ReturnType<typeof run>>;
    try {
      result = await run(true);
    } catch (e) {
      log.error({ err: e }, 'handoff with its audit event failed; retrying without it');
      try {
        result = await run(false);
      } catch (e2) {
        log.error({ err: e2 }, 'handoff could not be started');
        return { ok: false, error: 'the handoff could not be recorded' };
      }
      if ('created' in result && result.created) await recordAudit(this.deps.db, scope, audit, log);
    }
    if ('error' in result) {
      log.warn({ error: result.error }, 'handoff not started');
      return { ok: false, error: result.error };
    }
    const post = result.post;
    if (post && post.deliveryState === 'pending') await this.deps.publishReply(handoffPost(scope.tenantId, post));
    const id = post?.handoffId ?? handoffId;
    if (result.created) {
      log.info({ handoffId: id, trigger: input.trigger }, 'conversation handed to a person');
      const at = new Date().toISOString();
      this.deps.publishEvent?.({
        type: 'escalation',
        tenantId: scope.tenantId,
        handoffId: id,
        conversationId: input.conversationId,
        agentId: input.agent.id,
        reason: input.reason.slice(0, 500),
        at,
      });
      this.deps.publishEvent?.({
        type: 'conversation',
        tenantId: scope.tenantId,
        conversationId: input.conversationId,
        agentId: input.agent.id,
        state: 'paused',
        lastMessageId: input.messageId ?? post?.id ?? id,
        at: new Date().toISOString(),
      });
    }
    return { ok: true, handoffId: id, created: result.created };
  }

  /**
   * A message in a handoff's Slack thread: a human answering the customer (relayed to the
   * customer's channel, recorded with author `human`) or releasing the conversation. Null when
   * the message is not in a handoff thread: an ordinary turn.
   */
  async fromHumanThread(msg: KonstructMessageV1): Promise<HandlerResult | null> {
    if (msg.channel.kind !== 'slack' || !msg.thread.inThread) return null;
    const scope = tenantScope(msg.tenantId);
    // Every message in a Slack thread asks this; one round trip, on an index of the thread's ref.
    const [rows] = await this.deps.db.tenantBatch(scope, [handoffByThreadSql(scope, msg.conversation.ref)]);
    const handoff = rows?.[0] as { id: string; status: string; conversationId: string; humanThread: unknown } | undefined;
    if (!handoff) return null;
    const log = this.log.child({ tenantId: msg.tenantId, handoffId: handoff.id, messageId: msg.id });
    const thread = handoff.humanThread as unknown as HumanThread;
    if (isReleaseCommand(msg.text)) return this.release(scope, handoff.id, `slack:${msg.sender.externalId}`, msg);
    if (handoff.status !== 'open') {
      log.info('message in a released handoff thread; not relayed');
      return 'ack';
    }
    // Files stay in Slack: only words reach the customer. The person is told so in the thread.
    const files = msg.attachments.length;
    const words = files && msg.text === attachmentMarkers(msg.attachments) ? '' : msg.text.trim();
    if (files) {
      await this.noteInThread(scope, msg, thread.humanConversationId, derivedUuid(msg.id, 'files-not-relayed'), filesNotRelayed(files, words !== ''));
    }
    if (!words) {
      log.info({ files }, 'message in the handoff thread without text; not relayed');
      return 'ack';
    }
    const customer = thread.customer;
    const audit: AuditEntry = {
      actorKind: 'operator',
      actorId: msg.sender.externalId,
      action: 'handoff.relayed',
      subjectType: 'handoff',
      subjectId: handoff.id,
      data: { handoffId: handoff.id, messageId: msg.id, conversationId: handoff.conversationId, channel: customer.channel.kind },
    };
    // The human's words become the conversation's next outbound message, keyed by the inbound
    // message's id so a redelivery publishes the same one instead of a second.
    const save = (withAudit: boolean) =>
      this.deps.db.withTenant(scope, async (tx) => {
        const created = await tx.message.createMany({
          data: [
            {
              id: msg.id,
              tenantId: msg.tenantId,
              conversationId: handoff.conversationId,
              direction: 'outbound',
              author: 'human',
              channelKind: customer.channel.kind,
              senderExternalId: msg.sender.externalId,
              text: msg.text,
              deliveryState: 'pending',
            },
          ],
          skipDuplicates: true,
        });
        if (created.count === 1) {
          await tx.conversation.update({ where: { id: handoff.conversationId }, data: { lastMessageAt: new Date() } });
          if (withAudit) await tx.auditEvent.create({ data: auditRow(msg.tenantId, audit) });
        }
        return tx.message.findUniqueOrThrow({ where: { id: msg.id }, select: { id: true, text: true, deliveryState: true } });
      });
    let saved: { id: string; text: string; deliveryState: string };
    try {
      saved = await save(true);
    } catch (e) {
      log.error({ err: e }, 'relay with its audit event failed; retrying without it');
      saved = await save(false);
      await recordAudit(this.deps.db, scope, audit, log);
    }
    if (saved.deliveryState === 'pending') {
      await this.deps.publishReply({
        v: 1,
        id: saved.id,
        tenantId: msg.tenantId,
        channel: customer.channel,
        conversationId: handoff.conversationId,
        inReplyTo: saved.id,
        thread: customer.replyTo ? { replyTo: customer.replyTo } : {},
        recipient: { externalId: customer.recipient },
        text: saved.text,
        purpose: 'relay',
        handoffId: handoff.id,
      });
    }
    await this.deps.onTranscriptChanged?.(scope, handoff.conversationId).catch((e: unknown) => log.warn({ err: e }, 'after-relay hook failed'));
    log.info('human message relayed to the customer');
    return 'ack';
  }

  /**
   * Posts what the customer wrote while the conversation is paused into the open handoff's
   * Slack thread. The row answers the customer's message (`inReplyToId`), so a redelivery
   * re-publishes it instead of posting twice. No open handoff or no thread yet: nothing to do.
   */
  async forwardToHumans(scope: TenantScope, m: { conversationId: string; inboundId: string; text: string }): Promise<void> {
    if (!m.text.trim()) return;
    const found = await this.deps.db.withTenant(scope, async (tx) => {
      const handoff = await tx.handoff.findFirst({ where: { conversationId: m.conversationId, status: 'open' }, orderBy: { createdAt: 'desc' } });
      const thread = handoff?.humanThread as Partial<HumanThread> | undefined;
      const target = parseTarget(thread);
      if (!handoff || !thread?.ts || !thread.humanConversationId || !target) return null;
      const text = `*Customer:* ${m.text}`;
      await tx.message.createMany({
        data: [
          {
            id: randomUUID(),
            tenantId: scope.tenantId,
            conversationId: thread.humanConversationId,
            direction: 'outbound',
            author: 'end_user',
            channelKind: 'slack',
            inReplyToId: m.inboundId,
            text,
            deliveryState: 'pending',
          },
        ],
        skipDuplicates: true,
      });
      const row = await tx.message.findUniqueOrThrow({ where: { inReplyToId: m.inboundId }, select: { id: true, text: true, deliveryState: true } });
      return { row, handoffId: handoff.id, ts: thread.ts, humanConversationId: thread.humanConversationId, target };
    });
    if (!found || found.row.deliveryState !== 'pending') return;
    await this.deps.publishReply({
      v: 1,
      id: found.row.id,
      tenantId: scope.tenantId,
      channel: { kind: 'slack', connectionId: found.target.connectionId, address: found.target.channel },
      conversationId: found.humanConversationId,
      inReplyTo: m.inboundId,
      thread: { replyTo: found.ts },
      recipient: { externalId: found.target.channel },
      text: found.row.text,
    });
  }

  /** Hands the conversation back to the employee (from Slack or an API); idempotent. */
  async release(scope: TenantScope, handoffId: string, releasedBy: string, fromThread?: KonstructMessageV1): Promise<HandlerResult> {
    const log = this.log.child({ tenantId: scope.tenantId, handoffId });
    const r = await this.deps.db.withTenant(scope, async (tx) => {
      const released = await tx.handoff.updateMany({
        where: { id: handoffId, status: 'open' },
        data: { status: 'released', releasedAt: new Date(), releasedBy },
      });
      const handoff = await tx.handoff.findUnique({ where: { id: handoffId }, select: { conversationId: true, agentId: true, humanThread: true } });
      if (!handoff || released.count === 0) return { released: false, handoff };
      // Another open handoff of the same conversation (should not happen) keeps it paused.
      const stillOpen = await tx.handoff.count({ where: { conversationId: handoff.conversationId, status: 'open' } });
      if (!stillOpen) await tx.conversation.update({ where: { id: handoff.conversationId }, data: { state: 'active' } });
      await tx.auditEvent.create({
        data: auditRow(scope.tenantId, {
          actorKind: 'operator',
          actorId: releasedBy,
          action: 'handoff.released',
          subjectType: 'handoff',
          subjectId: handoffId,
          data: { handoffId, conversationId: handoff.conversationId, releasedBy },
        }),
      });
      return { released: true, handoff };
    });
    if (!r.released) {
      log.info('handoff already released');
      return 'ack';
    }
    log.info({ releasedBy }, 'conversation handed back to the employee');
    await this.deps.onTranscriptChanged?.(scope, r.handoff!.conversationId).catch((e: unknown) => log.warn({ err: e }, 'after-release hook failed'));
    this.deps.publishEvent?.({
      type: 'conversation',
      tenantId: scope.tenantId,
      conversationId: r.handoff!.conversationId,
      agentId: r.handoff!.agentId,
      state: 'active',
      lastMessageId: fromThread?.id ?? handoffId,
      at: new Date().toISOString(),
    });
    if (fromThread) await this.confirmInThread(scope, fromThread, (r.handoff!.humanThread as unknown as HumanThread).humanConversationId);
    return 'ack';
  }

  /** Tells the humans in the thread that the employee answers again. */
  private confirmInThread(scope: TenantScope, msg: KonstructMessageV1, humanConversationId: string) {
    return this.noteInThread(scope, msg, humanConversationId, msg.id, 'Released: the employee answers this customer again.');
  }

  /** A system note for the people in a handoff's thread, answering `msg` there; written once per `id`. */
  private async noteInThread(scope: TenantScope, msg: KonstructMessageV1, humanConversationId: string, id: string, text: string) {
    const saved = await this.deps.db.withTenant(scope, async (tx) => {
      await tx.message.createMany({
        data: [
          {
            id,
            tenantId: msg.tenantId,
            conversationId: humanConversationId,
            direction: 'outbound',
            author: 'system',
            channelKind: 'slack',
            text,
            deliveryState: 'pending',
          },
        ],
        skipDuplicates: true,
      });
      return tx.message.findUniqueOrThrow({ where: { id }, select: { id: true, text: true, deliveryState: true } });
    });
    if (saved.deliveryState !== 'pending') return;
    await this.deps.publishReply({
      v: 1,
      id: saved.id,
      tenantId: msg.tenantId,
      channel: msg.channel,
      conversationId: humanConversationId,
      inReplyTo: saved.id,
      thread: msg.thread.replyTo ? { replyTo: msg.thread.replyTo } : {},
      recipient: { externalId: msg.sender.externalId },
      text: saved.text,
    });
  }
}

function filesNotRelayed(files: number, withText: boolean): string {
  const what = files === 1 ? 'The file was' : `The ${files} files were`;
  return withText
    ? `Only your text reached the customer. ${what} not passed on: files stay in Slack. Share a link in the text if they need it.`
    : `Nothing was sent to the customer. ${what} not passed on: files stay in Slack. Write the answer as text, with a link if they need the file.`;
}

/** The newest handoff whose human thread is `ref` (served by handoffs_tenant_id_human_thread_ref_idx). */
export function handoffByThreadSql(scope: TenantScope, ref: string): Prisma.Sql {
  return Prisma.sql`
    SELECT id::text AS id, status::text AS status, conversation_id::text AS "conversationId", human_thread AS "humanThread"
      FROM handoffs
     WHERE tenant_id = ${scope.tenantId}::uuid AND human_thread->>'ref' = ${ref}
     ORDER BY created_at DESC
     LIMIT 1`;
}

async function existingPost(tx: TenantTx, handoffId: string, humanThread: unknown) {
  const thread = humanThread as Partial<HumanThread>;
  const target = parseTarget(thread);
  if (!thread.postMessageId || !thread.humanConversationId || !target) return null;
  const row = await tx.message.findUnique({ where: { id: thread.postMessageId }, select: { id: true, text: true, deliveryState: true } });
  return row ? { ...row, handoffId, humanConversationId: thread.humanConversationId, target } : null;
}

function handoffPost(
  tenantId: string,
  post: { id: string; text: string; handoffId: string; humanConversationId: string; target: SlackTarget },
): KonstructReplyV1 {
  return {
    v: 1,
    id: post.id,
    tenantId,
    channel: { kind: 'slack', connectionId: post.target.connectionId, address: post.target.channel },
    conversationId: post.humanConversationId,
    inReplyTo: post.id,
    thread: {},
    recipient: { externalId: post.target.channel },
    text: post.text,
    purpose: 'handoff',
    handoffId: post.handoffId,
  };
}
