import { WebClient, ErrorCode, type WebAPIPlatformError } from '@slack/web-api';
import { decryptSecret, parseContract, secretContext, KonstructReplyV1, type Logger, type MasterKeyring } from '@konstruct/core';
import { tenantScope, type Db } from '@konstruct/db';
import type { HandlerResult, BusMessage } from '@konstruct/bus';

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
  'missing_scope',
  'invalid_arguments',
]);

export interface SlackSenderDeps {
  db: Db;
  keyring: MasterKeyring;
  slackApiUrl: string;
  /** Deliveries of one reply before it is recorded as failed and dead-lettered. */
  maxAttempts?: number;
  logger: Logger;
}

/** Posts replies published by the runner into the Slack thread they answer. */
export function createSlackSender(deps: SlackSenderDeps) {
  const log = deps.logger.child({ source: 'slack-sender' });
  const clients = new Map<string, WebClient>();
  const clientFor = (token: string) => {
    let c = clients.get(token);
    if (!c) {
      // Few SDK-level retries: the queue redelivers, and a consumer must not sleep for minutes.
      c = new WebClient(token, { slackApiUrl: deps.slackApiUrl, retryConfig: { retries: 2, maxTimeout: 5_000 } });
      clients.set(token, c);
    }
    return c;
  };

  // Decrypted bot tokens, kept briefly: every reply needs one, a reinstall replaces it rarely.
  const tokens = new Map<string, { token: string | null; expires: number }>();
  async function botToken(tenantId: string, connectionId: string): Promise<string | null> {
    const hit = tokens.get(connectionId);
    if (hit && hit.expires > Date.now()) return hit.token;
    const row = await deps.db.withTenant(tenantScope(tenantId), (tx) =>
      tx.channelConnection.findUnique({ where: { id: connectionId }, select: { id: true, botTokenEnc: true } }),
    );
    const token = row?.botTokenEnc
      ? decryptSecret(deps.keyring, row.botTokenEnc, secretContext('channel_connections', 'bot_token', row.id))
      : null;
    if (tokens.size > 10_000) tokens.clear();
    tokens.set(connectionId, { token, expires: Date.now() + 30_000 });
    return token;
  }

  return async function deliver(delivery: BusMessage): Promise<HandlerResult> {
    const parsed = parseContract(KonstructReplyV1, delivery.body);
    if (!parsed.ok) return { deadLetter: `invalid KonstructReply v1: ${parsed.reason}` };
    const reply = parsed.value;
    const scope = tenantScope(reply.tenantId);

    const state = await deps.db.withTenant(scope, (tx) =>
      tx.message.findUnique({ where: { id: reply.id }, select: { deliveryState: true } }),
    );
    if (!state) return { deadLetter: `reply message ${reply.id} not found for tenant ${reply.tenantId}` };
    if (['sent', 'delivered', 'read'].includes(state.deliveryState)) {
      log.info({ messageId: reply.id }, 'reply already delivered; redelivery ignored');
      return 'ack';
    }
    const token = await botToken(reply.tenantId, reply.channel.connectionId);
    if (!token) {
      await markFailed(reply.id, 'slack connection has no bot token');
      return 'ack';
    }

    try {
      const res = await clientFor(token).chat.postMessage({
        channel: reply.channel.address,
        text: reply.text,
        ...(reply.thread.replyTo ? { thread_ts: reply.thread.replyTo } : {}),
      });
      await deps.db.withTenant(scope, (tx) =>
        tx.message.update({
          where: { id: reply.id },
          data: { deliveryState: 'sent', providerMessageId: res.ts ?? null, sentAt: new Date(), deliveryError: null },
        }),
      );
      log.info({ messageId: reply.id, tenantId: reply.tenantId }, 'reply posted to slack');
      return 'ack';
    } catch (e) {
      const err = e as { code?: string; data?: { error?: string } };
      if (err.code === ErrorCode.PlatformError) {
        const code = (e as WebAPIPlatformError).data.error;
        if (PERMANENT.has(code)) {
          await markFailed(reply.id, `slack: ${code}`);
          log.warn({ messageId: reply.id, code }, 'slack refused the reply permanently');
          return 'ack';
        }
      }
      const reason = `slack: ${(e as Error).message}`;
      if (delivery.deliveryCount + 1 >= (deps.maxAttempts ?? 5)) {
        await markFailed(reply.id, reason);
        log.error({ messageId: reply.id, attempts: delivery.deliveryCount + 1, reason }, 'slack post failed; giving up');
        return { deadLetter: `${reason} (after ${delivery.deliveryCount + 1} attempts)` };
      }
      log.warn({ messageId: reply.id, err: (e as Error).message }, 'slack post failed; will retry');
      return 'retry';
    }

    async function markFailed(id: string, reason: string) {
      await deps.db.withTenant(scope, (tx) =>
        tx.message.update({ where: { id }, data: { deliveryState: 'failed', deliveryError: reason } }),
      );
    }
  };
}
