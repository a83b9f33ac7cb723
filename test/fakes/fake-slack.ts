import { sendJson, startRecordingServer, type FakeServer } from './recording-server.ts';

export type { RecordedRequest } from './recording-server.ts';

export interface FakeSlackOptions {
  port?: number;
  /** Exact bot/user tokens to accept. Default: any token starting with xoxb-, xoxp- or xoxe-. */
  tokens?: string[];
  team?: { id: string; name: string };
  botUserId?: string;
  botId?: string;
  appId?: string;
  scopes?: string[];
  oauth?: {
    clientId?: string;
    clientSecret?: string;
    /** Single-use, like Slack's: a second exchange of the same code gets invalid_code. */
    code?: string;
    /** Only checked when configured, as Slack only checks it when the authorize step used one. */
    redirectUri?: string;
    accessToken?: string;
    authedUserId?: string;
  };
}

export interface SlackFailure {
  /** Slack error string, e.g. 'channel_not_found'. Alone it yields HTTP 200 {ok:false}. */
  error?: string;
  status?: number;
  retryAfterSec?: number;
}

/** chat.postMessage arguments decoded from the form body (JSON-valued args parsed, booleans converted). */
export interface SlackPost {
  channel: string;
  ts: string;
  text?: string;
  thread_ts?: string;
  mrkdwn?: boolean;
  blocks?: unknown[];
  attachments?: unknown[];
  metadata?: unknown;
  reply_broadcast?: boolean;
  unfurl_links?: boolean;
  unfurl_media?: boolean;
  username?: string;
  icon_emoji?: string;
  icon_url?: string;
  /** The arguments exactly as the fake received them. */
  args: Record<string, unknown>;
}

export interface FakeSlack extends FakeServer {
  /** Queues a failure for the next call of `method`; with no options it is a 429 `ratelimited` with Retry-After: 1. */
  failNext(method: string, failure?: SlackFailure): void;
  posts(): SlackPost[];
  waitForPosts(n: number, timeoutMs?: number): Promise<SlackPost[]>;
}

type Args = Record<string, unknown>;
type SlackResult = { ok: boolean; [key: string]: unknown };

/** WebClient sends everything urlencoded (objects as JSON strings); Slack also takes JSON bodies, where values keep their types. */
function str(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
const bool = (value: unknown) => (value === undefined ? undefined : value === true || value === 'true' || value === '1');
const json = (value: unknown) => (typeof value === 'string' ? (JSON.parse(value) as unknown) : value);

const fail = (error: string, extra: object = {}): SlackResult => ({ ok: false, error, ...extra });

export async function start(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const team = options.team ?? { id: 'T0FAKETEAM', name: 'Fake Team' };
  const botUserId = options.botUserId ?? 'U0FAKEBOT';
  const botId = options.botId ?? 'B0FAKEBOT';
  const appId = options.appId ?? 'A0FAKEAPP';
  const scopes = options.scopes ?? ['chat:write', 'channels:read', 'groups:read', 'im:read', 'users:read'];
  const oauth = {
    clientId: 'fake-client-id',
    clientSecret: 'fake-client-secret',
    code: 'fake-oauth-code',
    accessToken: `xoxb-${team.id}-fake-installed`,
    authedUserId: 'U0FAKEINSTALLER',
    ...options.oauth,
  };
  const validTokens = options.tokens ? new Set(options.tokens) : undefined;
  const usedCodes = new Set<string>();
  const failures = new Map<string, SlackFailure[]>();
  const recordedPosts: SlackPost[] = [];
  const stored = new Map<string, Record<string, unknown>>();
  const waiters = new Set<() => void>();

  // Real ts values are "<epoch seconds>.<6 digits>" and sort chronologically; a counter keeps them unique and ordered.
  const epochSec = Math.floor(Date.now() / 1000);
  let seq = 0;
  const nextTs = () => `${epochSec}.${String(++seq).padStart(6, '0')}`;

  const tokenOk = (token: string | undefined) =>
    !!token && (validTokens ? validTokens.has(token) : /^xox[bpe]-/.test(token));

  function postMessage(args: Args): SlackResult {
    const channel = str(args.channel);
    if (!channel) return fail('channel_not_found');
    if (args.text === undefined && args.blocks === undefined && args.attachments === undefined) return fail('no_text');
    let post: SlackPost;
    try {
      post = {
        channel,
        ts: nextTs(),
        text: str(args.text),
        thread_ts: str(args.thread_ts),
        mrkdwn: bool(args.mrkdwn),
        blocks: json(args.blocks) as unknown[] | undefined,
        attachments: json(args.attachments) as unknown[] | undefined,
        metadata: json(args.metadata),
        reply_broadcast: bool(args.reply_broadcast),
        unfurl_links: bool(args.unfurl_links),
        unfurl_media: bool(args.unfurl_media),
        username: str(args.username),
        icon_emoji: str(args.icon_emoji),
        icon_url: str(args.icon_url),
        args,
      };
    } catch {
      return fail('invalid_blocks_format');
    }
    const message = {
      user: botUserId,
      type: 'message',
      ts: post.ts,
      bot_id: botId,
      app_id: appId,
      text: post.text ?? '',
      team: team.id,
      blocks: post.blocks,
      attachments: post.attachments,
      thread_ts: post.thread_ts,
    };
    stored.set(`${channel}/${post.ts}`, message);
    recordedPosts.push(post);
    for (const wake of [...waiters]) wake();
    return { ok: true, channel, ts: post.ts, message };
  }

  function update(args: Args): SlackResult {
    const channel = str(args.channel) ?? '';
    const ts = str(args.ts) ?? '';
    const existing = stored.get(`${channel}/${ts}`);
    if (!existing) return fail('message_not_found');
    const text = str(args.text) ?? '';
    const message = { ...existing, text, blocks: json(args.blocks) ?? existing.blocks, edited: { user: botUserId, ts: nextTs() } };
    stored.set(`${channel}/${ts}`, message);
    return { ok: true, channel, ts, text, message };
  }

  function conversationInfo(args: Args): SlackResult {
    const id = str(args.channel);
    if (!id) return fail('channel_not_found');
    const isIm = id.startsWith('D');
    const isPrivate = id.startsWith('G');
    const name = `channel-${id.toLowerCase()}`;
    return {
      ok: true,
      channel: {
        id,
        ...(isIm ? { user: 'U0FAKEDMUSER' } : { name, name_normalized: name }),
        created: epochSec,
        is_channel: !isIm && !isPrivate,
        is_group: isPrivate,
        is_im: isIm,
        is_mpim: false,
        is_private: isPrivate || isIm,
        is_archived: false,
        is_member: true,
        context_team_id: team.id,
      },
    };
  }

  function userInfo(args: Args): SlackResult {
    const id = str(args.user);
    if (!id) return fail('user_not_found');
    const name = id === botUserId ? 'fakebot' : `user-${id.toLowerCase()}`;
    return {
      ok: true,
      user: {
        id,
        team_id: team.id,
        name,
        real_name: name,
        deleted: false,
        is_bot: id === botUserId,
        is_admin: false,
        tz: 'UTC',
        tz_offset: 0,
        profile: { real_name: name, display_name: name, email: `${name}@example.com`, image_72: `https://example.com/${id}.png` },
      },
    };
  }

  const authed: Record<string, (args: Args) => SlackResult> = {
    'auth.test': () => ({
      ok: true,
      url: `https://${team.name.toLowerCase().replace(/\W+/g, '-')}.slack.com/`,
      team: team.name,
      user: 'fakebot',
      team_id: team.id,
      user_id: botUserId,
      bot_id: botId,
      is_enterprise_install: false,
    }),
    'chat.postMessage': postMessage,
    'chat.update': update,
    'conversations.info': conversationInfo,
    'users.info': userInfo,
  };

  /** Slack accepts client credentials either as form fields or as HTTP Basic auth. */
  function oauthAccess(args: Args, authorization: string | undefined): SlackResult {
    let clientId = str(args.client_id);
    let clientSecret = str(args.client_secret);
    if (authorization?.startsWith('Basic ')) {
      const decoded = Buffer.from(authorization.slice('Basic '.length), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      clientId = decoded.slice(0, colon);
      clientSecret = decoded.slice(colon + 1);
    }
    if (clientId !== oauth.clientId) return fail('invalid_client_id');
    if (clientSecret !== oauth.clientSecret) return fail('bad_client_secret');
    const code = str(args.code);
    if (code !== oauth.code || usedCodes.has(code)) return fail('invalid_code');
    if (oauth.redirectUri !== undefined && str(args.redirect_uri) !== oauth.redirectUri) return fail('bad_redirect_uri');
    usedCodes.add(code);
    validTokens?.add(oauth.accessToken);
    return {
      ok: true,
      app_id: appId,
      authed_user: { id: oauth.authedUserId },
      scope: scopes.join(','),
      token_type: 'bot',
      access_token: oauth.accessToken,
      bot_user_id: botUserId,
      team,
      enterprise: null,
      is_enterprise_install: false,
    };
  }

  const server = await startRecordingServer(options.port ?? 0, (req, res) => {
    const method = req.path.startsWith('/api/') ? req.path.slice('/api/'.length) : undefined;
    if (req.method !== 'POST' || !method) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }

    const failure = failures.get(method)?.shift();
    if (failure) {
      const { error, status, retryAfterSec } = failure;
      if (status === 429 || (status === undefined && (retryAfterSec !== undefined || error === undefined))) {
        return sendJson(res, 429, fail('ratelimited'), { 'retry-after': String(retryAfterSec ?? 1) });
      }
      return sendJson(res, status ?? 200, fail(error ?? 'internal_error'));
    }

    const args = (req.body ?? {}) as Args;
    if (method === 'oauth.v2.access') return sendJson(res, 200, oauthAccess(args, req.headers.authorization));

    const handler = authed[method];
    if (!handler) return sendJson(res, 200, fail('unknown_method'));

    // WebClient puts its token in the Authorization header; Slack also still accepts a `token` form field.
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length) : str(args.token);
    if (!token) return sendJson(res, 200, fail('not_authed'));
    if (!tokenOk(token)) return sendJson(res, 200, fail('invalid_auth'));
    // WebClient exposes this header as response_metadata.scopes.
    return sendJson(res, 200, handler(args), { 'x-oauth-scopes': scopes.join(',') });
  });

  function waitForPosts(n: number, timeoutMs = 2000): Promise<SlackPost[]> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const check = () => {
        if (recordedPosts.length < n) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve([...recordedPosts]);
      };
      check();
      if (recordedPosts.length >= n) return;
      waiters.add(check);
      timer = setTimeout(() => {
        waiters.delete(check);
        const seen = recordedPosts.map((p) => `${p.channel}: ${JSON.stringify(p.text)}`).join('; ') || 'none';
        const calls = server.requests.map((r) => r.path).join(', ') || 'none';
        reject(
          new Error(
            `fake-slack: timed out after ${timeoutMs}ms waiting for ${n} chat.postMessage call(s); ` +
              `got ${recordedPosts.length} (${seen}). Requests received: ${calls}`,
          ),
        );
      }, timeoutMs);
    });
  }

  return {
    ...server,
    failNext: (method, failure = {}) => {
      failures.set(method, [...(failures.get(method) ?? []), failure]);
    },
    posts: () => [...recordedPosts],
    waitForPosts,
  };
}
