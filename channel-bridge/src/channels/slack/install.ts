import type { FastifyInstance } from 'fastify';
import slackOAuth, { type CodedError, type Logger as SlackLogger, type LogLevel } from '@slack/oauth';
import { deriveMasterSubkey, verifyInstallTicket, INSTALL_TICKET_TTL_SECONDS, type Logger, type MasterKeyring } from '@konstruct/core';
import type { Db } from '@konstruct/db';
import type { ChannelRouter } from '../../routing.ts';
import { PostgresInstallationStore, SlackInstallRefused, type InstallMetadata, type StoredInstallation } from './installation-store.ts';
import { sendInstallPage } from './install-page.ts';

// CommonJS package: only InstallProvider is a detectable named export.
const { InstallProvider, ClearStateStore } = slackOAuth;

/**
 * Bot scopes the platform app asks for: being mentioned (`app_mentions:read`), reading DMs
 * (`im:history`) and thread replies in public and private channels it was added to
 * (`channels:history`, `groups:history`), and answering (`chat:write`).
 */
export const SLACK_BOT_SCOPES = ['app_mentions:read', 'chat:write', 'im:history', 'channels:history', 'groups:history'];

/** How long the browser has from our install page to Slack's redirect back. */
export const SLACK_STATE_TTL_SECONDS = INSTALL_TICKET_TTL_SECONDS;

/** The key Slack's state store signs the OAuth state with, derived from the master key. */
export function slackStateSecret(ring: MasterKeyring): string {
  return deriveMasterSubkey(ring, 'konstruct/slack-oauth-state/v1').toString('base64url');
}

export interface SlackInstallDeps {
  db: Db;
  keyring: MasterKeyring;
  router: ChannelRouter;
  logger: Logger;
  clientId: string | undefined;
  clientSecret: string | undefined;
  /** Public base URL of this bridge, for Slack's redirect_uri. */
  publicUrl: string;
  /** Slack's authorize page, https://slack.com/oauth/v2/authorize unless testing. */
  authorizeUrl: string;
  /** Slack Web API base, for oauth.v2.access and auth.test. */
  slackApiUrl: string;
  /** Called after a workspace was stored, e.g. to forget cached routes. */
  onInstalled?: (stored: StoredInstallation) => void;
}

/** Slack's logger interface over pino; debug output is dropped since it can echo request details. */
function slackLogger(log: Logger): SlackLogger {
  const write = (level: 'info' | 'warn' | 'error') => (...msg: unknown[]) => {
    const [first, ...rest] = msg;
    if (first instanceof Error) log[level]({ err: first }, 'slack oauth');
    else log[level]([first, ...rest].map(String).join(' '));
  };
  return {
    debug: () => undefined,
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    setLevel: () => undefined,
    getLevel: () => 'info' as LogLevel,
    setName: () => undefined,
  };
}

/** What the person installing is told when the callback fails. */
function describeFailure(error: CodedError): { status: number; title: string; message: string } {
  if (error instanceof SlackInstallRefused) return { status: error.status, title: 'Slack was not connected', message: error.message };
  switch (error.code) {
    case 'slack_oauth_missing_state':
    case 'slack_oauth_invalid_state':
      return {
        status: 403,
        title: 'Install session not valid',
        message: 'This installation could not be matched to an install link you opened in this browser, or it took longer than 10 minutes. Start again from a new install link.',
      };
    case 'slack_oauth_missing_code':
      return { status: 400, title: 'Install incomplete', message: 'Slack did not send an authorization code. Start again from a new install link.' };
    case 'slack_oauth_installer_authorization_error':
      return { status: 400, title: 'Installation cancelled', message: 'The installation was cancelled in Slack. Nothing was connected.' };
    case 'slack_webapi_platform_error': {
      const reason = (error as { data?: { error?: string } }).data?.error ?? 'unknown';
      return { status: 502, title: 'Slack refused the installation', message: `Slack answered "${reason}". Start again from a new install link.` };
    }
    default:
      return { status: 502, title: 'Slack could not be reached', message: 'The installation could not be completed. Try again in a minute.' };
  }
}

/**
 * `GET /slack/install?ticket=…` and `GET /slack/oauth_redirect`: connecting a workspace to a
 * tenant with the platform's Slack app. The ticket (from the tenancy API's
 * `createSlackInstallLink`) says which tenant; Slack's InstallProvider carries it through
 * Slack in its signed state (bound to this browser by a cookie), exchanges the code and hands
 * the installation to the Postgres installation store.
 */
export async function slackInstallRoutes(app: FastifyInstance, deps: SlackInstallDeps) {
  const log = deps.logger.child({ source: 'slack-install' });
  const publicUrl = deps.publicUrl.replace(/\/+$/, '');
  const redirectUri = `${publicUrl}/slack/oauth_redirect`;
  const installer =
    deps.clientId && deps.clientSecret
      ? new InstallProvider({
          clientId: deps.clientId,
          clientSecret: deps.clientSecret,
          stateStore: new ClearStateStore(slackStateSecret(deps.keyring), SLACK_STATE_TTL_SECONDS),
          stateCookieName: 'konstruct-slack-oauth-state',
          stateCookieExpirationSeconds: SLACK_STATE_TTL_SECONDS,
          installationStore: new PostgresInstallationStore(deps.db, deps.keyring, log, (stored) => {
            deps.router.forgetSlack(stored.teamId);
            deps.onInstalled?.(stored);
          }),
          authorizationUrl: deps.authorizeUrl,
          directInstall: true,
          logger: slackLogger(log),
          clientOptions: { slackApiUrl: deps.slackApiUrl },
        })
      : null;
  const notConfigured = {
    status: 503,
    title: 'Slack installation is not set up',
    message: 'This server has no Slack app credentials (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET).',
  };

  app.get('/slack/install', async (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    if (!installer) return sendInstallPage(res, notConfigured.status, notConfigured.title, notConfigured.message);
    const given = (req.query as { ticket?: unknown } | undefined)?.ticket;
    if (given === undefined || given === '')
      return sendInstallPage(res, 400, 'Install link incomplete', 'Open the install link created in Konstruct; it carries a ticket.');
    const checked = verifyInstallTicket(deps.keyring, given);
    if (!checked.ok || checked.ticket.channel !== 'slack') {
      const reason = checked.ok ? 'not for slack' : checked.reason;
      log.warn({ reason }, 'slack install refused: ticket');
      if (reason === 'expired')
        return sendInstallPage(res, 410, 'Install link expired', 'Install links last 10 minutes. Create a new one in Konstruct.');
      if (reason === 'invalid signature')
        return sendInstallPage(res, 403, 'Install link not valid', 'This install link was not issued by this Konstruct server. Create a new one in Konstruct.');
      return sendInstallPage(res, 400, 'Install link damaged', 'This install link is incomplete or damaged. Copy it again, or create a new one in Konstruct.');
    }
    const metadata: InstallMetadata = { tenantId: checked.ticket.tenantId, agentId: checked.ticket.agentId, operatorId: checked.ticket.operatorId };
    try {
      await installer.handleInstallPath(req.raw, res, undefined, { scopes: SLACK_BOT_SCOPES, redirectUri, metadata: JSON.stringify(metadata) });
      log.info({ tenantId: metadata.tenantId }, 'slack install started');
    } catch (e) {
      log.error({ err: e }, 'slack install could not start');
      sendInstallPage(res, 500, 'Slack install could not start', 'Try again in a minute.');
    }
  });

  app.get('/slack/oauth_redirect', async (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    if (!installer) return sendInstallPage(res, notConfigured.status, notConfigured.title, notConfigured.message);
    try {
      await installer.handleCallback(req.raw, res, {
        successAsync: async (installation) => {
          const team = installation.team?.name ?? installation.team?.id ?? 'your workspace';
          sendInstallPage(res, 200, 'Slack is connected', `Konstruct is now installed in ${team}. Mention the employee in a channel, or send it a direct message.`);
        },
        failureAsync: async (error) => {
          const page = describeFailure(error);
          const log4xx = page.status < 500 ? log.warn.bind(log) : log.error.bind(log);
          log4xx({ code: error.code, status: page.status, reason: error.message }, 'slack install failed');
          sendInstallPage(res, page.status, page.title, page.message);
        },
      });
    } catch (e) {
      log.error({ err: e }, 'slack install callback failed');
      sendInstallPage(res, 500, 'Slack install failed', 'Try again in a minute.');
    }
  });
}
