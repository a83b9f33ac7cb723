import { createHash, randomBytes } from 'node:crypto';
import { sendJson, startRecordingServer, type FakeServer } from './recording-server.ts';

export type { RecordedRequest } from './recording-server.ts';

/**
 * A fake WhatsApp Business Cloud API (Graph API) on 127.0.0.1, speaking Meta's wire format:
 * `POST /{version}/{phone-number-id}/messages`, `GET /{version}/{media-id}` and the media
 * download URL it hands out. Errors come as Graph error objects with Meta's codes, messages and
 * HTTP statuses.
 */
export interface FakeWhatsAppOptions {
  port?: number;
  /** Graph version in the path. Default `v21.0`. */
  version?: string;
  /** Exact access tokens accepted. Default: any bearer token. */
  tokens?: string[];
  /**
   * Enforce Meta's pair rate limit: a message to the same user from the same number sooner than
   * this after the previous one is refused with 131056, as Meta does. Off by default.
   */
  pairIntervalMs?: number;
}

export interface GraphFailure {
  /** Graph error code, e.g. 131047, 130429, 131056, 131000, 190, 100. */
  code: number;
  /** HTTP status; default: Meta's for the code (400 for most, 401 for 190, 500 for 131000, 503 for 131016). */
  status?: number;
  message?: string;
  details?: string;
}

/** Accept and record the message (it reaches the user), then drop the connection without answering. */
export interface DropAfterAccept {
  dropAfterAccept: true;
}

export interface WhatsAppSend {
  phoneNumberId: string;
  to: string;
  type: string;
  wamid: string;
  /** Bearer token used. */
  token: string;
  /** `text.body` for a text message. */
  text?: string;
  /** `template` of a template message as sent. */
  template?: { name: string; language: { code: string }; components?: unknown[] };
  callbackData?: string;
  /** The request body exactly as received. */
  body: Record<string, unknown>;
  /** Epoch ms when the fake accepted it. */
  at: number;
}

export interface FakeWhatsApp extends FakeServer {
  version: string;
  /** `WHATSAPP_API_URL` for this fake: base plus version. */
  apiUrl: string;
  /** Queues a failure for the next `messages` call. */
  failNext(failure: GraphFailure | DropAfterAccept): void;
  sends(): WhatsAppSend[];
  waitForSends(n: number, timeoutMs?: number): Promise<WhatsAppSend[]>;
  /** Stores media as if a user had sent it; returns its id and hashes (webhooks carry base64, media metadata hex). */
  addMedia(bytes: Buffer, mimeType: string, id?: string): { id: string; sha256Base64: string; sha256Hex: string };
}

/** Meta's texts for the errors the bridge handles specially. */
const KNOWN: Record<number, { message: string; details?: string; status: number }> = {
  131047: {
    message: '(#131047) Re-engagement message',
    details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
    status: 400,
  },
  130429: { message: '(#130429) Rate limit hit', details: 'Cloud API message throughput has been reached.', status: 400 },
  131056: {
    message: '(#131056) (Business Account, Consumer Account) pair rate limit hit',
    details: 'Too many messages sent from the sender phone number to the same recipient phone number in a short period of time.',
    status: 400,
  },
  131000: { message: '(#131000) Something went wrong', details: 'Message failed to send due to an unknown error.', status: 500 },
  131016: { message: '(#131016) Service unavailable', details: 'A service is temporarily unavailable.', status: 503 },
  131026: { message: '(#131026) Message undeliverable', details: 'Unable to deliver message.', status: 400 },
  190: { message: 'Invalid OAuth access token - Cannot parse access token', status: 401 },
  100: { message: '(#100) Invalid parameter', status: 400 },
};

function graphError(code: number, overrides: Partial<GraphFailure> = {}) {
  const known = KNOWN[code];
  const details = overrides.details ?? known?.details;
  return {
    status: overrides.status ?? known?.status ?? 400,
    body: {
      error: {
        message: overrides.message ?? known?.message ?? `(#${code}) Error`,
        type: 'OAuthException',
        code,
        ...(details ? { error_data: { messaging_product: 'whatsapp', details } } : {}),
        fbtrace_id: `A${randomBytes(11).toString('base64url')}`,
      },
    },
  };
}

export async function start(options: FakeWhatsAppOptions = {}): Promise<FakeWhatsApp> {
  const version = options.version ?? 'v21.0';
  const validTokens = options.tokens ? new Set(options.tokens) : undefined;
  const failures: (GraphFailure | DropAfterAccept)[] = [];
  const recorded: WhatsAppSend[] = [];
  const lastToUser = new Map<string, number>();
  const media = new Map<string, { bytes: Buffer; mimeType: string; sha256Hex: string }>();
  const waiters = new Set<() => void>();
  let base = '';

  const wamidFor = (to: string) => `wamid.HBgL${Buffer.from(`${to}${randomBytes(9).toString('hex')}`).toString('base64')}`;

  const server = await startRecordingServer(options.port ?? 0, async (req, res) => {
    const reply = (r: { status: number; body: unknown }) => sendJson(res, r.status, r.body);
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length) : '';
    const authorized = !!token && (!validTokens || validTokens.has(token));

    // Media download URL (Meta: lookaside.fbsbx.com, also needs the bearer token).
    if (req.method === 'GET' && req.path === '/whatsapp_business/attachments/') {
      const item = media.get(req.query.mid ?? '');
      if (!authorized) return reply({ status: 401, body: 'unauthorized' });
      if (!item) return reply({ status: 404, body: 'not found' });
      res.writeHead(200, { 'content-type': item.mimeType, 'content-length': String(item.bytes.length) });
      res.end(item.bytes);
      return;
    }

    const match = /^\/(v\d+\.\d+)\/([^/]+)(\/messages)?$/.exec(req.path);
    if (!match || match[1] !== version) {
      return reply(graphError(2500, { message: `Unknown path components: ${req.path}`, status: 400 }));
    }
    if (!authorized) return reply(graphError(190));
    const [, , id, messages] = match;

    if (req.method === 'GET' && !messages) {
      const item = media.get(id!);
      if (!item) {
        return reply(
          graphError(100, {
            message: `Unsupported get request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
          }),
        );
      }
      return reply({
        status: 200,
        body: {
          messaging_product: 'whatsapp',
          url: `${base}/whatsapp_business/attachments/?mid=${id}&ext=${Date.now()}&hash=${item.sha256Hex.slice(0, 16)}`,
          mime_type: item.mimeType,
          sha256: item.sha256Hex,
          file_size: item.bytes.length,
          id,
        },
      });
    }

    if (req.method !== 'POST' || !messages) return reply(graphError(100, { message: 'Unsupported request method' }));

    const body = req.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object') return reply(graphError(100, { details: 'The request body must be JSON.' }));
    if (body.messaging_product !== 'whatsapp') return reply(graphError(100, { details: 'The parameter messaging_product is required.' }));
    const to = typeof body.to === 'string' ? body.to : '';
    if (!to) return reply(graphError(100, { details: 'The parameter to is required.' }));
    const type = typeof body.type === 'string' ? body.type : 'text';
    const callbackData = body.biz_opaque_callback_data;
    if (callbackData !== undefined && (typeof callbackData !== 'string' || callbackData.length > 512)) {
      return reply(graphError(100, { details: 'Param biz_opaque_callback_data must be at most 512 characters long.' }));
    }
    let text: string | undefined;
    let template: WhatsAppSend['template'];
    if (type === 'text') {
      const t = (body.text as { body?: unknown } | undefined)?.body;
      if (typeof t !== 'string' || !t) return reply(graphError(100, { details: "The parameter text['body'] is required." }));
      if (t.length > 4096) return reply(graphError(100, { details: "Param text['body'] must be at most 4096 characters long." }));
      text = t;
    } else if (type === 'template') {
      const tpl = body.template as WhatsAppSend['template'] | undefined;
      if (!tpl?.name || !tpl.language?.code) return reply(graphError(100, { details: 'The parameter template[name] and template[language][code] are required.' }));
      template = tpl;
    }

    const failure = failures.shift();
    if (failure && !('dropAfterAccept' in failure)) return reply(graphError(failure.code, failure));

    const pairKey = `${id}:${to}`;
    const now = Date.now();
    const last = lastToUser.get(pairKey);
    if (options.pairIntervalMs && last !== undefined && now - last < options.pairIntervalMs) return reply(graphError(131056));
    lastToUser.set(pairKey, now);

    const wamid = wamidFor(to);
    recorded.push({
      phoneNumberId: id!,
      to,
      type,
      wamid,
      token,
      ...(text !== undefined ? { text } : {}),
      ...(template ? { template } : {}),
      ...(typeof callbackData === 'string' ? { callbackData } : {}),
      body,
      at: now,
    });
    for (const wake of [...waiters]) wake();
    if (failure) {
      res.socket?.destroy();
      return;
    }
    return reply({
      status: 200,
      body: {
        messaging_product: 'whatsapp',
        contacts: [{ input: to, wa_id: to }],
        messages: [{ id: wamid, ...(type === 'template' ? { message_status: 'accepted' } : {}) }],
      },
    });
  });
  base = server.url;

  function waitForSends(n: number, timeoutMs = 5000): Promise<WhatsAppSend[]> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const check = () => {
        if (recorded.length < n) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve([...recorded]);
      };
      timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`expected ${n} WhatsApp sends within ${timeoutMs} ms, got ${recorded.length}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  }

  return {
    ...server,
    version,
    apiUrl: `${server.url}/${version}`,
    failNext: (failure) => void failures.push(failure),
    sends: () => [...recorded],
    waitForSends,
    addMedia(bytes, mimeType, id = String(1_000_000_000_000_000n + BigInt(media.size + 1) * 7919n)) {
      const digest = createHash('sha256').update(bytes).digest();
      const sha256Hex = digest.toString('hex');
      media.set(id, { bytes, mimeType, sha256Hex });
      return { id, sha256Base64: digest.toString('base64'), sha256Hex };
    },
  };
}
