import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

export function slackFixture(name: string): Record<string, any> {
  return JSON.parse(readFileSync(new URL(`../fixtures/slack/${name}.json`, import.meta.url), 'utf8'));
}

/** Signs a body the way Slack does: v0=HMAC-SHA256(secret, `v0:{ts}:{body}`). */
export function slackHeaders(body: string, secret: string, timestamp = Math.floor(Date.now() / 1000)) {
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return {
    'content-type': 'application/json',
    'x-slack-signature': signature,
    'x-slack-request-timestamp': String(timestamp),
  };
}

export async function postSlack(
  bridgeUrl: string,
  payload: unknown,
  secret: string,
  opts: { timestamp?: number; extraHeaders?: Record<string, string>; rawBody?: string } = {},
) {
  const body = opts.rawBody ?? JSON.stringify(payload);
  return fetch(`${bridgeUrl}/slack/events`, {
    method: 'POST',
    headers: { ...slackHeaders(body, secret, opts.timestamp), ...opts.extraHeaders },
    body,
  });
}
