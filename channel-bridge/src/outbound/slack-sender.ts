import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { markThreadParticipation } from '../channels/slack/threads.ts';
import { recordHandoffThread } from './handoff-thread.ts';
import {
  ErrorCode,
  LogLevel,
  WebClient,
  type Logger as SlackLogger,
  type WebAPIHTTPError,
  type WebAPIPlatformError,
  type WebAPIRateLimitedError,
} from '@slack/web-api';
import { decryptSecret, parseContract, secretContext, KonstructReplyV1, type Logger, type MasterKeyring } from '@konstruct/core';
import { tenantScope, type Db } from '@konstruct/db';
import type { HandlerResult, BusMessage } from '@konstruct/bus';
import { markdownToMrkdwn } from './slack-mrkdwn.ts';
import { SLACK_PART_LIMIT, splitForSlack } from './split-text.ts';
import { ChannelPacer, SLACK_CHANNEL_INTERVAL_MS, type Slot } from './channel-pacer.ts';
import { findPostedParts, replyMetadata } from './slack-reconcile.ts';
import { ReplyClaims, type Claim } from './reply-claim.ts';

/** Slack errors that retrying cannot fix: recorded on the message instead. */
const PERMANENT = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'no_text',
  'msg_too_long',
  'restricted_action',
  'restricted_action_read_only_channel',
  'restricted_action_thread_only_channel',
  'restricted_action_non_threadable_channel',
  'cannot_reply_to_message',
  'missing_scope',
  'invalid_arguments',
  'invalid_blocks',
  'invalid_metadata_format',
  'invalid_metadata_schema',
  'metadata_too_large',
  'too_many_attachments',
  'ekm_access_denied',
  'team_access_not_granted',
  'no_permission',
  'org_login_required',
  'thread_not_found',
  'method_deprecated',
  'not_allowed_token_type',
]);

/** Header carrying the count of transient failures from one delayed retry to the next. */
export const FAILURES_HEADER = 'x-konstruct-slack-failures';

export interface SlackOutboundOptions {
  /** Spacing of messages to one channel, across all bridge instances. */
  channelIntervalMs: number;
  /** Longest part posted; longer replies go out as several messages in the same thread. */
  partLimit: number;
  /** How long a claim protects a reply from other attempts; a holder that dies blocks it this long. */
  claimLeaseMs: number;
  /** Pacing waits up to this long happen in the consumer; longer ones go back to the queue. */
  maxInlineWaitMs: number;
  /** First retry delay after a transient failure; doubles per failure, up to backoffMaxMs. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Per Slack call: a hung request is a transient failure (and is reconciled, never blindly re-posted). */
  requestTimeoutMs: number;
}

export const DEFAULT_SLACK_OUTBOUND: SlackOutboundOptions = {
  channelIntervalMs: SLACK_CHANNEL_INTERVAL_MS,
  partLimit: SLACK_PART_LIMIT,
  claimLeaseMs: 60_000,
  maxInlineWaitMs: 3_000,
  backoffBaseMs: 1_000,
  backoffMaxMs: 5 * 60_000,
  requestTimeoutMs: 15_000,
};

export interface SlackSenderDeps {
  db: Db;
  keyring: MasterKeyring;
  slackApiUrl: string;
  /** Shared pacing state; keys live under `redisKeyPrefix`. */
  redis: Redis;
  redisKeyPrefix: string;
  /** Transient failures of one reply before it is recorded as failed and dead-lettered. */
  maxAttempts?: number;
  options?: Partial<SlackOutboundOptions>;
  logger: Logger;
}

type Failure =
  | { kind: 'rate-limited'; retryAfterMs: number }
  | { kind: 'permanent'; reason: string }
  | { kind: 'transient'; reason: string };

/**
 * Posts replies published by the runner into the Slack thread they answer, at most once each.
 *
 * Exactly-once: the reply row is claimed (`sending`) before any Slack call; every part is posted
 * with message metadata naming the reply and the part, and recorded as it lands. A delivery that
 * finds the reply already claimed by an attempt that is gone (crash, lost ack, transient error)
 * first reads the thread back and counts the parts already there, then posts only the rest.
 *
 * What is left, knowingly:
 * - A read-back that fails is retried later, never replaced by a blind re-post; one that cannot
 *   succeed (e.g. the history scope is missing) records the reply failed: at most once, then.
 * - A part Slack accepted but does not return on read-back yet, or one a person deleted before
 *   the read-back, is posted again (Slack reads are read-after-write consistent in practice).
 * - A sender frozen longer than the claim lease (request timeout 15 s, lease 60 s by default)
 *   can still post after another attempt took over; the stamp check keeps the row consistent,
 *   not Slack.
 * - Changing the part limit between two attempts of one reply could split it differently.
 */
export function createSlackSender(deps: SlackSenderDeps) {
  const log = deps.logger.child({ source: 'slack-sender' });
  // Unset (undefined) options keep their defaults.
  const opts: SlackOutboundOptions = { ...DEFAULT_SLACK_OUTBOUND };
  for (const [k, v] of Object.entries(deps.options ?? {})) if (v !== undefined) Object.assign(opts, { [k]: v });
  const maxAttempts = deps.maxAttempts ?? 8;
  const pacer = new ChannelPacer(deps.redis, deps.redisKeyPrefix, opts.channelIntervalMs);
  const sdkLogger = slackSdkLogger(log);
  const claims = new ReplyClaims(deps.db, opts.claimLeaseMs);

  const clients = new Map<string, WebClient>();
  const clientFor = (token: string) => {
    let c = clients.get(token);
    if (!c) {
      // No SDK retries: chat.postMessage is not idempotent, so a retry after a lost response
      // could post twice; every retry here goes through the claim and the read-back instead.
      // And no SDK sleeping on 429: the delivery is parked for Retry-After and the channel paused.
      c = new WebClient(token, {
        slackApiUrl: deps.slackApiUrl,
        retryConfig: { retries: 0 },
        rejectRateLimitedCalls: true,
        timeout: opts.requestTimeoutMs,
        logger: sdkLogger,
      });
      if (clients.size > 10_000) clients.clear();
      clients.set(token, c);
    }
    return c;
  };

  // Decrypted bot tokens, kept briefly: every reply needs one, a reinstall replaces it rarely.
  const tokens = new Map<string, { token: string | null; teamId: string | null; expires: number }>();
  async function connection(tenantId: string, connectionId: string): Promise<{ token: string | null; teamId: string | null }> {
    const hit = tokens.get(connectionId);
    if (hit && hit.expires > Date.now()) return hit;
    const row = await deps.db.withTenant(tenantScope(tenantId), (tx) =>
      tx.channelConnection.findUnique({ where: { id: connectionId }, select: { id: true, externalId: true, botTokenEnc: true } }),
    );
    const token = row?.botTokenEnc
      ? decryptSecret(deps.keyring, row.botTokenEnc, secretContext('channel_connections', 'bot_token', row.id))
      : null;
    if (tokens.size > 10_000) tokens.clear();
    const entry = { token, teamId: row?.externalId ?? null, expires: Date.now() + 30_000 };
    tokens.set(connectionId, entry);
    return entry;
  }

  const backoff = (failures: number) => {
    const base = Math.min(opts.backoffMaxMs, opts.backoffBaseMs * 2 ** failures);
    return Math.round(base * (0.8 + Math.random() * 0.4));
  };

  return async function deliver(delivery: BusMessage): Promise<HandlerResult> {
    const parsed = parseContract(KonstructReplyV1, delivery.body);
    if (!parsed.ok) return { deadLetter: `invalid KonstructReply v1: ${parsed.reason}` };
    const reply = parsed.value;
    if (reply.channel.kind !== 'slack') return { deadLetter: `reply ${reply.id} is for ${reply.channel.kind}, not slack` };
    const scope = tenantScope(reply.tenantId);
    const failures = Number(delivery.headers[FAILURES_HEADER] ?? 0) || 0;
    const rlog = log.child({ tenantId: reply.tenantId, messageId: reply.id });

    // The first send slot is taken before the claim: a reply to a channel that is busy for longer
    // than we would wait inline goes back on the queue without touching the database (a burst
    // into one channel otherwise claims and releases every waiting reply at every wake-up, and
    // each of those then reads the thread back). Spread a little, so they do not all wake at once.
    const paceKey = pacer.key(reply.tenantId, reply.channel.connectionId, reply.channel.address);
    let firstSlot: Slot | null;
    try {
      firstSlot = await pacer.reserve(paceKey, opts.maxInlineWaitMs);
    } catch (e) {
      rlog.error({ err: e }, 'could not reserve a send slot; will retry');
      return { retryAfterMs: backoff(Math.min(delivery.delayedRetries, 8)), headers: { [FAILURES_HEADER]: failures } };
    }
    if (!firstSlot.granted) {
      rlog.debug({ waitMs: firstSlot.waitMs }, 'channel busy; reply waits on the queue');
      return { retryAfterMs: firstSlot.waitMs + Math.floor(Math.random() * 250), headers: { [FAILURES_HEADER]: failures } };
    }

    let claim: Claim;
    try {
      claim = await claims.claim(scope, reply.id);
    } catch (e) {
      // Database unavailable or overloaded: nothing was claimed, so nothing to release.
      // Not a Slack failure, so it does not count toward giving up; the wait still grows.
      rlog.error({ err: e }, 'could not claim the reply; will retry');
      return { retryAfterMs: backoff(Math.min(delivery.delayedRetries, 8)), headers: { [FAILURES_HEADER]: failures } };
    }
    if (!claim.ok) {
      if (claim.reason === 'missing') return { deadLetter: `reply message ${reply.id} not found for tenant ${reply.tenantId}` };
      if (claim.reason === 'done') {
        rlog.info({ state: claim.state }, 'reply already settled; redelivery ignored');
        return 'ack';
      }
      rlog.info({ retryInMs: claim.retryInMs }, 'reply is being sent by another attempt; looking again later');
      return { retryAfterMs: claim.retryInMs, headers: { [FAILURES_HEADER]: failures } };
    }
    const held = claim.held;

    /** Gives the reply back (or records it failed) and says what the queue should do. */
    const settle = async (failure: Failure, partsSent: number, parts: number): Promise<HandlerResult> => {
      const where = parts > 1 ? ` (part ${partsSent + 1} of ${parts})` : '';
      if (failure.kind === 'permanent') {
        await claims.fail(held, `slack: ${failure.reason}${where}`);
        rlog.warn({ reason: failure.reason, partsSent, parts }, 'slack refused the reply permanently');
        return 'ack';
      }
      if (failure.kind === 'rate-limited') {
        await claims.release(held);
        rlog.warn({ retryAfterMs: failure.retryAfterMs, partsSent }, 'slack rate-limited the channel; delivery parked');
        return { retryAfterMs: failure.retryAfterMs, headers: { [FAILURES_HEADER]: failures } };
      }
      const attempts = failures + 1;
      if (attempts >= maxAttempts) {
        await claims.fail(held, `slack: ${failure.reason}${where} (after ${attempts} attempts)`);
        rlog.error({ attempts, reason: failure.reason }, 'slack delivery failed; giving up');
        return { deadLetter: `slack: ${failure.reason} (after ${attempts} attempts)` };
      }
      const retryAfterMs = backoff(failures);
      await claims.release(held, `slack: ${failure.reason}${where} (attempt ${attempts}, retrying)`);
      rlog.warn({ attempts, retryAfterMs, reason: failure.reason }, 'slack delivery failed; will retry');
      return { retryAfterMs, headers: { [FAILURES_HEADER]: attempts } };
    };

    try {
      const { token, teamId } = await connection(reply.tenantId, reply.channel.connectionId);
      if (!token) return await settle({ kind: 'permanent', reason: 'connection has no bot token' }, claim.row.partsSent, 1);
      const client = clientFor(token);
      const parts = splitForSlack(markdownToMrkdwn(reply.text), opts.partLimit);
      const channel = reply.channel.address;
      const threadTs = reply.thread.replyTo;
      let partsSent = claim.row.partsSent;
      let firstTs = claim.row.providerMessageId;

      if (claim.resumed) {
        // An earlier attempt may have posted parts it could not record: count what Slack has.
        let found: Map<number, string>;
        try {
          found = await findPostedParts(client, { channel, threadTs, since: claim.row.createdAt }, reply.id);
        } catch (e) {
          const f = classify(e);
          // Unverifiable is not "not posted": rather than risk a duplicate, the reply is given up.
          if (f.kind === 'permanent') f.reason = `cannot check for parts already posted (${f.reason}); not posting again`;
          return await settle(f, partsSent, parts.length);
        }
        // The highest part found counts, not the number found: a part someone deleted stays deleted.
        const highest = Math.max(-1, ...found.keys());
        if (highest + 1 > partsSent) {
          rlog.info({ recorded: partsSent, found: highest + 1, parts: parts.length }, 'reconciled parts already in slack');
          partsSent = highest + 1;
        }
        firstTs = found.get(0) ?? firstTs;
        if (!(await claims.progress(held, partsSent, firstTs))) return lost();
      }

      while (partsSent < parts.length) {
        const slot = firstSlot ?? (await pacer.reserve(paceKey, opts.maxInlineWaitMs));
        firstSlot = null;
        if (!slot.granted) {
          await claims.release(held);
          return { retryAfterMs: slot.waitMs, headers: { [FAILURES_HEADER]: failures } };
        }
        if (slot.waitMs > 0) await sleep(slot.waitMs);
        let ts: string | undefined;
        try {
          const res = await client.chat.postMessage({
            channel,
            text: parts[partsSent]!,
            ...(threadTs ? { thread_ts: threadTs } : {}),
            metadata: replyMetadata(reply.id, partsSent, parts.length),
          });
          ts = res.ts;
        } catch (e) {
          const f = classify(e);
          if (f.kind === 'rate-limited') await pacer.pause(paceKey, f.retryAfterMs);
          return await settle(f, partsSent, parts.length);
        }
        partsSent++;
        if (partsSent === 1 && ts) firstTs = ts;
        if (partsSent < parts.length && !(await claims.progress(held, partsSent, firstTs))) return lost();
      }
      if (reply.purpose === 'handoff' && reply.handoffId && firstTs && teamId) {
        // Before completing: if this fails, the retry reconciles the posted parts and records it then.
        await recordHandoffThread(deps.db, scope, { handoffId: reply.handoffId, conversationId: reply.conversationId, teamId, channel, ts: firstTs });
        await markThreadParticipation(deps.redis, deps.redisKeyPrefix, { tenantId: reply.tenantId, teamId, channel, threadTs: firstTs }).catch((e) =>
          rlog.warn({ err: e }, 'could not mark the handoff thread; the database lookup covers it'),
        );
      }
      if (!(await claims.complete(held, partsSent, firstTs))) return lost();
      rlog.info({ parts: parts.length }, 'reply posted to slack');
      if (threadTs && teamId) {
        // Having answered in the thread, the employee takes part in it: replies there reach it without a new mention.
        await markThreadParticipation(deps.redis, deps.redisKeyPrefix, { tenantId: reply.tenantId, teamId, channel, threadTs }).catch((e) =>
          rlog.warn({ err: e }, 'could not mark thread participation; the database lookup covers it'),
        );
      }
      return 'ack';
    } catch (e) {
      // Unexpected (database, Redis), possibly right after a part was posted: give the claim
      // back (if the database lets us; else its lease lapses) and come back after a backoff —
      // the next attempt reads the thread before posting anything.
      rlog.error({ err: e }, 'slack delivery crashed; will retry');
      await claims.release(held).catch(() => undefined);
      return { retryAfterMs: backoff(failures), headers: { [FAILURES_HEADER]: failures + 1 } };
    }

    function lost(): HandlerResult {
      // Our lease ran out mid-delivery and another attempt took the reply over; it reconciles.
      rlog.warn('claim on the reply was taken over; leaving it to the other attempt');
      return 'ack';
    }
  };
}

/**
 * The SDK's own log lines, into ours. Its debug output includes request bodies (message text),
 * so it is dropped; the rest is short and about the transport.
 */
function slackSdkLogger(log: Logger): SlackLogger {
  const text = (msg: unknown[]) => msg.map((m) => (m instanceof Error ? m.message : String(m))).join(' ');
  return {
    debug: () => {},
    info: (...msg: unknown[]) => log.debug({ sdk: text(msg) }, 'slack sdk'),
    warn: (...msg: unknown[]) => log.warn({ sdk: text(msg) }, 'slack sdk'),
    error: (...msg: unknown[]) => log.error({ sdk: text(msg) }, 'slack sdk'),
    setLevel: () => {},
    getLevel: () => LogLevel.INFO,
    setName: () => {},
  };
}

function classify(e: unknown): Failure {
  const code = (e as { code?: string }).code;
  if (code === ErrorCode.RateLimitedError) {
    return { kind: 'rate-limited', retryAfterMs: Math.max(1, (e as WebAPIRateLimitedError).retryAfter) * 1000 };
  }
  if (code === ErrorCode.PlatformError) {
    const error = (e as WebAPIPlatformError).data.error;
    return PERMANENT.has(error) ? { kind: 'permanent', reason: error } : { kind: 'transient', reason: error };
  }
  if (code === ErrorCode.HTTPError) {
    const status = (e as WebAPIHTTPError).statusCode;
    // Slack answers everything but 429 and 5xx with 200; another 4xx is a proxy or a bad URL.
    return status >= 500 || status === 408 ? { kind: 'transient', reason: `HTTP ${status}` } : { kind: 'permanent', reason: `HTTP ${status}` };
  }
  return { kind: 'transient', reason: (e as Error).message ?? String(e) };
}
