/**
 * `npm run say -- "text"`: sends a signed Slack app_mention for the demo workspace to the
 * running channel-bridge, exactly as Slack would, then shows the employee's reply and its
 * delivery state from the database.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createDb, tenantScope } from '@konstruct/db';
import { loadEnv } from './env.ts';
import { loadDevSecrets } from './dev-secrets.ts';

const config = loadEnv();
const text = process.argv.slice(2).join(' ').trim() || 'What are your opening hours on Saturday?';
let runtime: { databaseUrl: string; bridgeUrl: string; tenantId: string; teamId: string };
try {
  runtime = JSON.parse(readFileSync(`${config.dataDir}/runtime.json`, 'utf8'));
} catch {
  console.error('Konstruct is not running here (no .data/runtime.json): start it with `npm start` first.');
  process.exit(1);
}
const signingSecret = config.slackSigningSecret ?? loadDevSecrets(config.dataDir).SLACK_SIGNING_SECRET;

const ts = `${Math.floor(Date.now() / 1000)}.${String(Date.now() % 1000).padStart(3, '0')}${String(Math.floor(Math.random() * 1000)).padStart(3, '0')}`;
const body = JSON.stringify({
  token: 'local',
  team_id: runtime.teamId,
  api_app_id: 'A0KONSTRUCT',
  event: { type: 'app_mention', user: 'U0LOCALUSER', text: `<@U0BOTUSER> ${text}`, ts, channel: 'C0LOCAL', event_ts: ts },
  type: 'event_callback',
  event_id: `Ev${randomUUID().replaceAll('-', '').slice(0, 12).toUpperCase()}`,
  event_time: Math.floor(Date.now() / 1000),
  authorizations: [{ team_id: runtime.teamId, user_id: 'U0BOTUSER', is_bot: true }],
});
const stamp = Math.floor(Date.now() / 1000);
const signature = `v0=${createHmac('sha256', signingSecret).update(`v0:${stamp}:${body}`).digest('hex')}`;
const res = await fetch(`${runtime.bridgeUrl}/slack/events`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-slack-signature': signature, 'x-slack-request-timestamp': String(stamp) },
  body,
});
console.log(`you › ${text}\n(bridge answered HTTP ${res.status})`);
if (!res.ok) process.exit(1);

const db = createDb({ url: runtime.databaseUrl, poolSize: 1 });
const scope = tenantScope(runtime.tenantId);
const until = Date.now() + 60_000;
try {
  let shown = false;
  while (Date.now() < until) {
    const reply = await db.withTenant(scope, (tx) =>
      tx.message.findFirst({
        where: { direction: 'outbound', inReplyTo: { externalId: `C0LOCAL:${ts}` } },
        select: { text: true, deliveryState: true, deliveryError: true },
      }),
    );
    if (reply && !shown) {
      console.log(`Ava › ${reply.text}`);
      shown = true;
    }
    // Delivery to Slack is attempted (and retried) after the reply is written; show its outcome.
    if (reply && (reply.deliveryState !== 'pending' || Date.now() > until - 45_000)) {
      console.log(`(delivery to Slack: ${reply.deliveryState}${reply.deliveryError ? ` — ${reply.deliveryError}` : ''})`);
      process.exit(0);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  console.error('no reply within 60 s — see the runner log in the `npm start` terminal');
  process.exit(1);
} finally {
  await db.close();
}
