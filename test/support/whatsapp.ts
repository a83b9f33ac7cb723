import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { encryptSecret, keyringFrom, secretContext, secretHint } from '@konstruct/core';

/**
 * Runs `text` with `$n` replaced by quoted literals, as one simple-protocol message. The
 * embedded test database (PGlite behind pglite-socket) serves every connection from one backend,
 * message by message: the Parse/Bind/Execute of a parameterized query outside a transaction can
 * interleave with another connection's (the unnamed statement is shared) and leave a transaction
 * open on the wrong connection, stalling everyone for seconds. Test fixtures that write or poll
 * while the platform runs use this instead of parameters.
 */
export function simpleQuery(client: pg.Client, text: string, params: unknown[] = []) {
  return client.query(text.replace(/\$(\d+)/g, (_m, n: string) => literal(params[Number(n) - 1])));
}

function literal(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return pg.escapeLiteral(v.toISOString());
  if (Array.isArray(v)) return v.length ? `ARRAY[${v.map(literal).join(', ')}]` : "'{}'";
  if (typeof v === 'object') return pg.escapeLiteral(JSON.stringify(v));
  return pg.escapeLiteral(String(v));
}

/** A webhook fixture from test/fixtures/whatsapp, parsed (each call a fresh copy). */
export function whatsappFixture(name: string): Record<string, any> {
  return JSON.parse(readFileSync(new URL(`../fixtures/whatsapp/${name}.json`, import.meta.url), 'utf8'));
}

/** `X-Hub-Signature-256` as Meta computes it: HMAC-SHA256 of the raw body with the app secret, hex. */
export function whatsappSignature(body: string | Buffer, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
}

export async function postWhatsApp(
  bridgeUrl: string,
  payload: unknown,
  appSecret: string,
  opts: { rawBody?: string; signature?: string | null; headers?: Record<string, string> } = {},
): Promise<Response> {
  const body = opts.rawBody ?? JSON.stringify(payload);
  const signature = opts.signature === undefined ? whatsappSignature(body, appSecret) : opts.signature;
  return fetch(`${bridgeUrl}/whatsapp/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature ? { 'x-hub-signature-256': signature } : {}), ...opts.headers },
    body,
  });
}

/** A fresh wamid shaped like Meta's. */
export function wamid(): string {
  return `wamid.HBgL${randomBytes(24).toString('base64')}`;
}

export const nowSeconds = () => String(Math.floor(Date.now() / 1000));

/** A webhook POST body (`whatsapp_business_account`, field `messages`) for one business number. */
export function waWebhook(
  phoneNumberId: string,
  value: { contacts?: unknown[]; messages?: unknown[]; statuses?: unknown[] },
  opts: { businessAccountId?: string; displayPhoneNumber?: string } = {},
) {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: opts.businessAccountId ?? '102290129340398',
        changes: [
          {
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: opts.displayPhoneNumber ?? '15550783881', phone_number_id: phoneNumberId },
              ...value,
            },
            field: 'messages',
          },
        ],
      },
    ],
  };
}

export function waContact(waId: string, name = 'Sheena Nelson') {
  return { profile: { name }, wa_id: waId };
}

/** A `messages[]` entry: `{ from, id, timestamp, type, [type]: content }`. */
export function waMessage(from: string, type: string, content: unknown, extra: Record<string, unknown> = {}) {
  return { from, id: wamid(), timestamp: nowSeconds(), type, [type]: content, ...extra };
}

export function waText(from: string, body: string, extra: Record<string, unknown> = {}) {
  return waMessage(from, 'text', { body }, extra);
}

/** A `statuses[]` entry as Meta sends it. */
export function waStatus(
  id: string,
  status: 'sent' | 'delivered' | 'read' | 'failed',
  recipient: string,
  extra: { callbackData?: string; errors?: unknown[]; timestamp?: string } = {},
) {
  return {
    id,
    status,
    timestamp: extra.timestamp ?? nowSeconds(),
    recipient_id: recipient,
    ...(extra.callbackData ? { biz_opaque_callback_data: extra.callbackData } : {}),
    ...(status === 'failed'
      ? { errors: extra.errors ?? [{ code: 131026, title: 'Message undeliverable', message: 'Message undeliverable', error_data: { details: 'Unable to deliver message.' } }] }
      : {
          conversation: { id: randomBytes(16).toString('hex'), origin: { type: 'service' } },
          pricing: { billable: true, pricing_model: 'PMP', category: 'service' },
        }),
  };
}

/** Points a fixture (or any webhook body) at another business number and, optionally, fresh timestamps. */
export function retarget(payload: Record<string, any>, phoneNumberId: string, opts: { freshTimestamps?: boolean } = {}) {
  for (const entry of payload.entry ?? []) {
    for (const change of entry.changes ?? []) {
      change.value.metadata.phone_number_id = phoneNumberId;
      if (opts.freshTimestamps) for (const m of change.value.messages ?? []) m.timestamp = nowSeconds();
    }
  }
  return payload;
}

export interface WhatsAppTenant {
  tenantId: string;
  agentId: string;
  connectionId: string;
  phoneNumberId: string;
  accessToken: string;
}

/**
 * Inserts a tenant with an employee that declares its business functions (required for
 * WhatsApp) and a WhatsApp connection for `phoneNumberId`, its Graph token encrypted.
 */
export async function seedWhatsAppTenant(
  databaseUrl: string,
  masterKey: string,
  opts: {
    phoneNumberId?: string;
    businessAccountId?: string;
    accessToken?: string | null;
    settings?: Record<string, unknown>;
    agentName?: string;
    businessFunctions?: string[];
  } = {},
): Promise<WhatsAppTenant> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const tenantId = randomUUID();
  const agentId = randomUUID();
  const connectionId = randomUUID();
  const phoneNumberId = opts.phoneNumberId ?? String(100_000_000_000_000 + Math.floor(Math.random() * 899_999_999_999_999));
  const accessToken = opts.accessToken === undefined ? `EAAG${randomBytes(24).toString('base64url')}` : opts.accessToken;
  try {
    await simpleQuery(client, 'INSERT INTO tenants (id, slug, name) VALUES ($1, $2, $3)', [tenantId, `t-${tenantId}`, 'Acme Shop']);
    await simpleQuery(client, 
      `INSERT INTO agents (id, tenant_id, name, role, persona, system_prompt, business_functions, updated_at)
       VALUES ($1, $2, $3, 'customer service', 'Friendly and brief.', 'Answer in one sentence.', $4, now())`,
      [agentId, tenantId, opts.agentName ?? 'Wanda', opts.businessFunctions ?? ['order status and delivery', 'returns and refunds']],
    );
    await simpleQuery(client, 
      `INSERT INTO channel_connections (id, tenant_id, kind, external_id, app_id, agent_id, access_token_enc, access_token_hint, settings, updated_at)
       VALUES ($1, $2, 'whatsapp', $3, $4, $5, $6, $7, $8, now())`,
      [
        connectionId,
        tenantId,
        phoneNumberId,
        opts.businessAccountId ?? '',
        agentId,
        accessToken ? encryptSecret(keyringFrom(masterKey), accessToken, secretContext('channel_connections', 'access_token', connectionId)) : null,
        accessToken ? secretHint(accessToken) : null,
        JSON.stringify(opts.settings ?? {}),
      ],
    );
  } finally {
    await client.end();
  }
  return { tenantId, agentId, connectionId, phoneNumberId, accessToken: accessToken ?? '' };
}

export interface SeededReply {
  replyId: string;
  inboundId: string;
  text: string;
}

/**
 * A contact's conversation on a seeded WhatsApp tenant, with one inbound message and its
 * outbound reply per entry of `replies` (as the runner would have recorded them).
 */
export async function seedWhatsAppConversation(
  databaseUrl: string,
  t: WhatsAppTenant,
  opts: {
    waId?: string;
    lastInboundAt?: Date | null;
    replies?: { text: string; deliveryState?: string; providerMessageId?: string | null; deliveryAttemptedAt?: Date | null; partsSent?: number }[];
  } = {},
): Promise<{ conversationId: string; waId: string; replies: SeededReply[] }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const conversationId = randomUUID();
  const waId = opts.waId ?? `1650${Math.floor(1_000_000 + Math.random() * 8_999_999)}`;
  const lastInboundAt = opts.lastInboundAt === undefined ? new Date() : opts.lastInboundAt;
  const replies: SeededReply[] = [];
  try {
    await simpleQuery(client, 
      `INSERT INTO conversations (id, tenant_id, agent_id, connection_id, channel_kind, external_ref, end_user_external_id, last_inbound_at, last_message_at)
       VALUES ($1, $2, $3, $4, 'whatsapp', $5, $6, $7, $7)`,
      [conversationId, t.tenantId, t.agentId, t.connectionId, `whatsapp:${t.phoneNumberId}:${waId}`, waId, lastInboundAt],
    );
    let i = 0;
    for (const r of opts.replies ?? []) {
      const inboundId = randomUUID();
      const replyId = randomUUID();
      const at = new Date(Date.now() - 60_000 + i++ * 10);
      await simpleQuery(client, 
        `INSERT INTO messages (id, tenant_id, conversation_id, direction, author, channel_kind, external_id, sender_external_id, text, delivery_state, created_at)
         VALUES ($1, $2, $3, 'inbound', 'end_user', 'whatsapp', $4, $5, $6, 'received', $7)`,
        [inboundId, t.tenantId, conversationId, wamid(), waId, `question ${i}`, at],
      );
      await simpleQuery(client, 
        `INSERT INTO messages (id, tenant_id, conversation_id, direction, author, channel_kind, in_reply_to_id, text, delivery_state,
                               provider_message_id, delivery_attempted_at, parts_sent, created_at)
         VALUES ($1, $2, $3, 'outbound', 'agent', 'whatsapp', $4, $5, $6, $7, $8, $9, $10)`,
        [
          replyId,
          t.tenantId,
          conversationId,
          inboundId,
          r.text,
          r.deliveryState ?? 'pending',
          r.providerMessageId ?? null,
          r.deliveryAttemptedAt ?? null,
          r.partsSent ?? 0,
          new Date(at.getTime() + 5),
        ],
      );
      replies.push({ replyId, inboundId, text: r.text });
    }
  } finally {
    await client.end();
  }
  return { conversationId, waId, replies };
}
