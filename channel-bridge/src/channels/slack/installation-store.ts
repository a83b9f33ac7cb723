import { randomUUID } from 'node:crypto';
import type { Installation, InstallationQuery, InstallationStore } from '@slack/oauth';
import { z } from 'zod';
import { decryptSecret, encryptSecret, secretContext, secretHint, type Logger, type MasterKeyring } from '@konstruct/core';
import { Prisma, auditRow, tenantScope, type Db } from '@konstruct/db';

/** What the signed OAuth state carries from the install ticket to the stored installation. */
export const InstallMetadata = z.object({
  tenantId: z.string().uuid(),
  agentId: z.string().uuid().nullable(),
  operatorId: z.string().uuid().nullable(),
});
export type InstallMetadata = z.infer<typeof InstallMetadata>;

/** An installation we will not store, with the reason to show the person installing. */
export class SlackInstallRefused extends Error {
  readonly code = 'konstruct_slack_install_refused';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** The row a stored installation ended up in, for the success page and the caller's caches. */
export interface StoredInstallation {
  connectionId: string;
  tenantId: string;
  teamId: string;
  teamName: string;
  agentId: string | null;
  created: boolean;
}

const PLATFORM_APP = '';

/**
 * Bolt's installation store for the platform's Slack app, backed by channel_connections: one
 * row per workspace (kind slack, external id = team id, app id '' for the platform's app),
 * the bot token envelope-encrypted for that row. The tenant comes from the install's signed
 * state, never from Slack's answer. A workspace belongs to one tenant: installing it again for
 * the same tenant refreshes the token; installing it for another tenant is refused.
 */
export class PostgresInstallationStore implements InstallationStore {
  constructor(
    private readonly db: Db,
    private readonly keyring: MasterKeyring,
    private readonly logger: Logger,
    private readonly onStored: (stored: StoredInstallation) => void = () => undefined,
  ) {}

  async storeInstallation(installation: Installation): Promise<void> {
    const meta = InstallMetadata.safeParse(safeJson(installation.metadata));
    if (!meta.success) throw new SlackInstallRefused('This installation was not started from a Konstruct install link.', 400);
    const { tenantId, agentId, operatorId } = meta.data;
    const teamId = installation.team?.id;
    if (installation.isEnterpriseInstall || !teamId)
      throw new SlackInstallRefused('Organization-wide (Enterprise Grid) installs are not supported; install into a single workspace.', 400);
    const bot = installation.bot;
    if (!bot?.token || !bot.userId) throw new SlackInstallRefused('Slack did not grant a bot token; the app needs bot scopes.', 502);

    const owner = await this.db.withRouting((tx) =>
      tx.channelConnection.findUnique({
        where: { kind_externalId_appId: { kind: 'slack', externalId: teamId, appId: PLATFORM_APP } },
        select: { tenantId: true },
      }),
    );
    if (owner && owner.tenantId !== tenantId) throw alreadyConnected();

    const scope = tenantScope(tenantId);
    let stored: StoredInstallation;
    try {
      stored = await this.db.withTenant(scope, async (tx) => {
        if (!(await tx.tenant.findUnique({ where: { id: tenantId }, select: { id: true } })))
          throw new SlackInstallRefused('The Konstruct account this link was made for no longer exists.', 410);
        // Foreign keys are checked without row-level security; the agent must be visible here.
        let agent: string | null = null;
        if (agentId) {
          if (await tx.agent.findUnique({ where: { id: agentId }, select: { id: true } })) agent = agentId;
          else this.logger.warn({ tenantId, agentId }, 'slack install: the link’s agent is gone; connected without an agent');
        }
        const existing = await tx.channelConnection.findUnique({
          where: { kind_externalId_appId: { kind: 'slack', externalId: teamId, appId: PLATFORM_APP } },
          select: { id: true, settings: true, agentId: true },
        });
        const id = existing?.id ?? randomUUID();
        const prior = isObject(existing?.settings) ? existing.settings : {};
        const secrets = {
          botUserId: bot.userId,
          botTokenEnc: encryptSecret(this.keyring, bot.token, secretContext('channel_connections', 'bot_token', id)),
          botTokenHint: secretHint(bot.token),
          displayName: installation.team?.name ?? '',
          status: 'active' as const,
          settings: {
            ...prior,
            slack: {
              appId: installation.appId ?? null,
              botId: bot.id,
              scopes: bot.scopes,
              enterpriseId: installation.enterprise?.id ?? null,
              installer: { slackUserId: installation.user?.id ?? null, operatorId },
              installedAt: new Date().toISOString(),
            },
          } as Prisma.InputJsonValue,
        };
        if (existing) {
          await tx.channelConnection.update({ where: { id }, data: { ...secrets, ...(agent ? { agentId: agent } : {}) } });
        } else {
          await tx.channelConnection.create({
            data: { id, tenantId, kind: 'slack', externalId: teamId, appId: PLATFORM_APP, agentId: agent, ...secrets },
          });
        }
        // The install lands in the tenant's audit trail with the connection it wrote.
        await tx.auditEvent.create({
          data: auditRow(tenantId, {
            actorKind: 'operator',
            ...(operatorId ? { actorId: operatorId } : {}),
            action: existing ? 'channel.slack_reinstalled' : 'channel.slack_installed',
            subjectType: 'channel_connection',
            subjectId: id,
            data: { teamId, teamName: installation.team?.name ?? null, agentId: agent, scopes: bot.scopes, slackUserId: installation.user?.id ?? null },
          }),
        });
        return {
          connectionId: id,
          tenantId,
          teamId,
          teamName: installation.team?.name ?? teamId,
          agentId: agent ?? existing?.agentId ?? null,
          created: !existing,
        };
      });
    } catch (e) {
      // Another tenant connected the workspace between our check and our insert.
      if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002') throw alreadyConnected();
      throw e;
    }
    this.logger.info(
      { tenantId, teamId, connectionId: stored.connectionId, created: stored.created, agentId: stored.agentId },
      'slack workspace installed',
    );
    this.onStored(stored);
  }

  /** For Bolt's authorize(): the workspace's bot, decrypted. */
  async fetchInstallation(query: InstallationQuery<boolean>): Promise<Installation<'v2', false>> {
    if (!query.teamId) throw new Error('only workspace installs are stored');
    const teamId = query.teamId;
    const row = await this.db.withRouting((tx) =>
      tx.channelConnection.findUnique({
        where: { kind_externalId_appId: { kind: 'slack', externalId: teamId, appId: PLATFORM_APP } },
        select: { id: true, status: true, displayName: true, botUserId: true, botTokenEnc: true, settings: true },
      }),
    );
    if (!row || row.status !== 'active' || !row.botTokenEnc || !row.botUserId) throw new Error(`no active installation for team ${teamId}`);
    const slack = (isObject(row.settings) && isObject(row.settings.slack) ? row.settings.slack : {}) as {
      appId?: string;
      botId?: string;
      scopes?: string[];
      installer?: { slackUserId?: string };
    };
    return {
      team: { id: teamId, name: row.displayName || undefined },
      enterprise: undefined,
      user: { token: undefined, scopes: undefined, id: slack.installer?.slackUserId ?? '' },
      bot: {
        token: decryptSecret(this.keyring, row.botTokenEnc, secretContext('channel_connections', 'bot_token', row.id)),
        userId: row.botUserId,
        id: slack.botId ?? '',
        scopes: slack.scopes ?? [],
      },
      appId: slack.appId,
      tokenType: 'bot',
      isEnterpriseInstall: false,
      authVersion: 'v2',
    };
  }
}

function alreadyConnected(): SlackInstallRefused {
  return new SlackInstallRefused(
    'This Slack workspace is already connected to another Konstruct account. Disconnect it there first, or ask Konstruct support.',
    409,
  );
}

function safeJson(s: string | undefined): unknown {
  try {
    return s ? JSON.parse(s) : undefined;
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
