import type { Redis } from 'ioredis';
import { tenantScope, type Db } from '@konstruct/db';

/**
 * Which Slack threads the employee takes part in: it was mentioned in the thread (or the
 * thread grew under its mention), or it replied there. Replies in those threads reach it
 * without a new mention. Redis holds a marker per thread; when the marker is gone (expired,
 * or Redis was flushed) the conversation row — created when the employee first handled a
 * message of the thread — answers instead, and the marker is set again.
 */

/** Thread markers outlive a working week; older threads fall back to the database. */
export const THREAD_MARKER_TTL_SECONDS = 14 * 24 * 3600;

export interface SlackThread {
  tenantId: string;
  teamId: string;
  channel: string;
  /** ts of the thread's root message. */
  threadTs: string;
}

/** The conversation key of a Slack thread within a tenant: `slack:<team>:<channel>:<thread root ts>`. */
export function slackConversationRef(teamId: string, channel: string, rootTs: string): string {
  return `slack:${teamId}:${channel}:${rootTs}`;
}

/**
 * Per tenant, because one workspace can hold several tenants' apps: one employee being
 * mentioned in a thread must not make another tenant's employee answer there.
 */
export function threadMarkerKey(prefix: string, t: SlackThread): string {
  return `${prefix}tenant:${t.tenantId}:slack-thread:${t.teamId}:${t.channel}:${t.threadTs}`;
}

/**
 * Records that the employee takes part in a thread. Called when a mention in or of the thread
 * is published, and by the outbound sender after it posts into a thread.
 */
export async function markThreadParticipation(
  redis: Redis,
  prefix: string,
  thread: SlackThread,
  ttlSeconds = THREAD_MARKER_TTL_SECONDS,
): Promise<void> {
  await redis.set(threadMarkerKey(prefix, thread), '1', 'EX', ttlSeconds);
}

export class ThreadParticipation {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly db: Db,
    private readonly ttlSeconds = THREAD_MARKER_TTL_SECONDS,
  ) {}

  mark(thread: SlackThread): Promise<void> {
    return markThreadParticipation(this.redis, this.prefix, thread, this.ttlSeconds);
  }

  async takesPart(thread: SlackThread): Promise<boolean> {
    if ((await this.redis.exists(threadMarkerKey(this.prefix, thread))) === 1) return true;
    const externalRef = slackConversationRef(thread.teamId, thread.channel, thread.threadTs);
    const conversation = await this.db.withTenant(tenantScope(thread.tenantId), (tx) =>
      tx.conversation.findUnique({
        where: { tenantId_externalRef: { tenantId: thread.tenantId, externalRef } },
        select: { id: true },
      }),
    );
    if (!conversation) return false;
    await this.mark(thread);
    return true;
  }
}
