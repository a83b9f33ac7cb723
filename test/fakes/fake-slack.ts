import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
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
  /** The call takes effect (a post is stored) but the answer is still the failure, as when Slack posts and then times out. */
  applied?: boolean;
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
  /** Date.now() when the request arrived, for pacing assertions. */
  receivedAtEpochMs: number;
}

/** What the fake's OAuth authorize page does for the next visits (as if a person chose a workspace and clicked). */
export interface AuthorizeOutcome {
  /** The workspace the person installs into. Default: the fake's team. */
  team?: { id: string; name: string };
  /** The installing Slack user. Default: oauth.authedUserId. */
  userId?: string;
  /** The bot user the install creates in that workspace. Default: the fake's botUserId. */
  botUserId?: string;
  /** The person clicks Cancel: Slack redirects with error=access_denied. */
  deny?: boolean;
}

/** A bot token the fake issued through the OAuth flow. */
export interface IssuedInstall {
  code: string;
  token: string;
  teamId: string;
  botUserId: string;
  scopes: string[];
  redirectUri?: string;
  exchanged: boolean;
}

export interface FakeSlack extends FakeServer {
  /** Sets what `GET /oauth/v2/authorize` does from now on. */
  authorizeAs(outcome: AuthorizeOutcome): void;
  /** Codes and tokens issued by the authorize page, in order. */
  installs(): IssuedInstall[];
  /** Queues a failure for the next call of `method`; with no options it is a 429 `ratelimited` with Retry-After: 1. */
  failNext(method: string, failure?: SlackFailure): void;
  posts(): SlackPost[];
  waitForPosts(n: number, timeoutMs?: number): Promise<SlackPost[]>;
  /**
   * Runs (and is awaited) after a chat.postMessage is stored and before Slack answers, e.g. to
   * kill the poster between "posted" and "knows it posted". No argument removes the hook.
   */
  onPost(hook?: (post: SlackPost) => void | Promise<void>): void;
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
  let authorizeOutcome: AuthorizeOutcome = {};
  const issued = new Map<string, IssuedInstall>();
  /** Team and bot of each token the OAuth flow issued, so auth.test answers for the right workspace. */
  const tokenTeams = new Map<string, { team: { id: string; name: string }; botUserId: string }>();
  const failures = new Map<string, SlackFailure[]>();
  const recordedPosts: SlackPost[] = [];
  const stored = new Map<string, Record<string, unknown>>();
  const waiters = new Set<() => void>();
  let postHook: ((post: SlackPost) => void | Promise<void>) | undefined;
  let currentRequestAt = 0;

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
        receivedAtEpochMs: currentRequestAt,
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
      ...(post.metadata ? { metadata: post.metadata } : {}),
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

  /**
   * Slack's reading of a channel: `oldest`/`latest` bounds (exclusive unless `inclusive`), newest
   * first for history and oldest first for replies, cursor pages, and message metadata only
   * when `include_all_metadata` is set.
   */
  function readMessages(args: Args, list: Array<Record<string, unknown>>, order: 'newest-first' | 'oldest-first'): SlackResult {
    const oldest = Number(str(args.oldest) ?? '0');
    const latest = args.latest === undefined ? Infinity : Number(str(args.latest));
    const inclusive = bool(args.inclusive) ?? false;
    const withMetadata = bool(args.include_all_metadata) ?? false;
    const inRange = list.filter((m) => {
      const ts = Number(m.ts);
      return inclusive ? ts >= oldest && ts <= latest : ts > oldest && ts < latest;
    });
    if (order === 'newest-first') inRange.reverse();
    const limit = Math.min(Math.max(Number(str(args.limit) ?? '100') || 100, 1), 1000);
    const cursor = str(args.cursor);
    const start = cursor ? Number(Buffer.from(cursor, 'base64').toString('utf8').replace(/^next_offset:/, '')) || 0 : 0;
    const page = inRange.slice(start, start + limit).map((m) => {
      if (withMetadata) return m;
      const { metadata: _omitted, ...rest } = m;
      return rest;
    });
    const hasMore = start + limit < inRange.length;
    return {
      ok: true,
      messages: page,
      has_more: hasMore,
      response_metadata: { next_cursor: hasMore ? Buffer.from(`next_offset:${start + limit}`).toString('base64') : '' },
    };
  }

  const inChannel = (channel: string) =>
    [...stored.entries()].filter(([key]) => key.startsWith(`${channel}/`)).map(([, m]) => m);

  function conversationsHistory(args: Args): SlackResult {
    const channel = str(args.channel);
    if (!channel) return fail('channel_not_found');
    // Thread replies stay out of the channel's history (unless broadcast, which the fake does not model).
    const topLevel = inChannel(channel).filter((m) => m.thread_ts === undefined || m.thread_ts === m.ts);
    const res = readMessages(args, topLevel, 'newest-first');
    return { ...res, pin_count: 0 };
  }

  function conversationsReplies(args: Args): SlackResult {
    const channel = str(args.channel);
    const ts = str(args.ts);
    if (!channel) return fail('channel_not_found');
    if (!ts) return fail('invalid_arguments');
    const replies = inChannel(channel).filter((m) => m.thread_ts === ts && m.ts !== ts);
    // The fake never sees users' own messages, so any ts is taken to be an existing message
    // (the thread parent); Slack always returns the parent first.
    const parent = stored.get(`${channel}/${ts}`) ?? {
      type: 'message',
      user: 'U0FAKEUSER',
      text: '',
      ts,
      team: team.id,
      ...(replies.length ? { thread_ts: ts, reply_count: replies.length, reply_users_count: 1, latest_reply: replies.at(-1)!.ts } : {}),
    };
    const res = readMessages(args, replies, 'oldest-first');
    const first = !str(args.cursor);
    return first ? { ...res, messages: [parent, ...(res.messages as unknown[])] } : res;
  }

  const authed: Record<string, (args: Args, token: string) => SlackResult> = {
    'auth.test': (_args, token) => {
      const owner = tokenTeams.get(token) ?? { team, botUserId };
      return {
        ok: true,
        url: `https://${owner.team.name.toLowerCase().replace(/\W+/g, '-')}.slack.com/`,
        team: owner.team.name,
        user: 'fakebot',
        team_id: owner.team.id,
        user_id: owner.botUserId,
        bot_id: botId,
        is_enterprise_install: false,
      };
    },
    'chat.postMessage': postMessage,
    'chat.update': update,
    'conversations.info': conversationInfo,
    'conversations.history': conversationsHistory,
    'conversations.replies': conversationsReplies,
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
    const grant = code === undefined ? undefined : issued.get(code);
    if (grant) {
      if (grant.exchanged) return fail('invalid_code');
      // Slack requires the redirect_uri of the authorize step again when one was given there.
      if (grant.redirectUri !== undefined && str(args.redirect_uri) !== grant.redirectUri) return fail('bad_redirect_uri');
      grant.exchanged = true;
      validTokens?.add(grant.token);
      const grantTeam = tokenTeams.get(grant.token)!.team;
      return {
        ok: true,
        app_id: appId,
        authed_user: { id: authorizeOutcome.userId ?? oauth.authedUserId },
        scope: grant.scopes.join(','),
        token_type: 'bot',
        access_token: grant.token,
        bot_user_id: grant.botUserId,
        team: grantTeam,
        enterprise: null,
        is_enterprise_install: false,
      };
    }
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

  /**
   * Slack's authorize page (`https://slack.com/oauth/v2/authorize`), minus the person: it
   * checks the request like Slack does, then answers as if the person chose a workspace and
   * clicked Allow (or Cancel) — a 302 back to redirect_uri with a single-use code and the state.
   */
  function authorize(query: Record<string, string>, res: ServerResponse): void {
    const page = (status: number, text: string): void => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(`<p>${text}</p>`);
    };
    if (query.client_id !== oauth.clientId) return page(400, 'Invalid client_id parameter');
    const scopes = (query.scope ?? '').split(',').filter(Boolean);
    if (scopes.length === 0 && !query.user_scope) return page(400, 'Invalid permissions requested: no scopes');
    const redirectUri = query.redirect_uri ?? oauth.redirectUri;
    if (!redirectUri) return page(400, 'No redirect_uri given and none configured for the app');
    if (oauth.redirectUri !== undefined && redirectUri !== oauth.redirectUri) return page(400, 'redirect_uri did not match any configured URIs');
    const back = new URL(redirectUri);
    if (query.state !== undefined) back.searchParams.set('state', query.state);
    if (authorizeOutcome.deny) {
      back.searchParams.set('error', 'access_denied');
    } else {
      const installTeam = authorizeOutcome.team ?? team;
      const installBot = authorizeOutcome.botUserId ?? botUserId;
      const code = `${installTeam.id}.${randomBytes(12).toString('hex')}`;
      const token = `xoxb-${installTeam.id}-${randomBytes(12).toString('hex')}`;
      tokenTeams.set(token, { team: installTeam, botUserId: installBot });
      issued.set(code, { code, token, teamId: installTeam.id, botUserId: installBot, scopes, redirectUri: query.redirect_uri, exchanged: false });
      back.searchParams.set('code', code);
    }
    res.writeHead(302, { location: back.toString() }).end();
  }

  const server = await startRecordingServer(options.port ?? 0, async (req, res) => {
    if (req.method === 'GET' && req.path === '/oauth/v2/authorize') return authorize(req.query, res);
    const method = req.path.startsWith('/api/') ? req.path.slice('/api/'.length) : undefined;
    if (req.method !== 'POST' || !method) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }

    const failure = failures.get(method)?.shift();
    if (failure) {
      const { error, status, retryAfterSec } = failure;
      if (failure.applied) {
        currentRequestAt = req.receivedAtEpochMs;
        authed[method]?.((req.body ?? {}) as Args, '');
      }
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
    currentRequestAt = req.receivedAtEpochMs;
    const result = handler(args, token);
    if (method === 'chat.postMessage' && result.ok && postHook) await postHook(recordedPosts.at(-1)!);
    // WebClient exposes this header as response_metadata.scopes.
    return sendJson(res, 200, result, { 'x-oauth-scopes': scopes.join(',') });
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
    authorizeAs: (outcome) => {
      authorizeOutcome = outcome;
    },
    installs: () => [...issued.values()].map((i) => ({ ...i })),
    failNext: (method, failure = {}) => {
      failures.set(method, [...(failures.get(method) ?? []), failure]);
    },
    posts: () => [...recordedPosts],
    waitForPosts,
    onPost: (hook) => {
      postHook = hook;
    },
  };
}
