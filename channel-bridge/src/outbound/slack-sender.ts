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

  return async function deliver(delivery: BusMessage): Promise<HandlerResult> {
    const parsed = parseContract(KonstructReplyV1, delivery.body);
    if (!parsed.ok) return { deadLetter: `invalid KonstructReply v1: ${parsed.reason}` };
    const reply = parsed.value;
    const scope = tenantScope(reply.tenantId);

    const state = await deps.db.withTenant(scope, async (tx) => {
      const [message, connection] = await Promise.all([
        tx.message.findUnique({ where: { id: reply.id }, select: { deliveryState: true } }),
        tx.channelConnection.findUnique({ where: { id: reply.channel.connectionId }, select: { id: true, botTokenEnc: true } }),
      ]);
      return { message, connection };
    });
    if (!state.message) return { deadLetter: `reply message ${reply.id} not found for tenant ${reply.tenantId}` };
    if (['sent', 'delivered', 'read'].includes(state.message.deliveryState)) {
      log.info({ messageId: reply.id }, 'reply already delivered; redelivery ignored');
      return 'ack';
    }
    if (!state.connection?.botTokenEnc) {
      await markFailed(reply.id, 'slack connection has no bot token');
      return 'ack';
    }

    const token = decryptSecret(
      deps.keyring,
      state.connection.botTokenEnc,
      secretContext('channel_connections', 'bot_token', state.connection.id),
    );
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
