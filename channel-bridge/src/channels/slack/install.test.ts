import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createLogger, keyringFrom } from '@konstruct/core';
import type { Db } from '@konstruct/db';
import { ChannelRouter } from '../../routing.ts';
import { slackInstallRoutes } from './install.ts';

describe('slack install routes without Slack app credentials', () => {
  it('explain that installation is not set up instead of failing obscurely', async () => {
    const app = Fastify();
    const db = {} as Db;
    await app.register(slackInstallRoutes, {
      db,
      keyring: keyringFrom(randomBytes(32).toString('base64')),
      router: new ChannelRouter(db),
      logger: createLogger('test', 'silent'),
      clientId: undefined,
      clientSecret: undefined,
      publicUrl: 'http://127.0.0.1:3000',
      authorizeUrl: 'https://slack.com/oauth/v2/authorize',
      slackApiUrl: 'https://slack.com/api/',
    });
    for (const url of ['/slack/install?ticket=x', '/slack/oauth_redirect?code=c&state=s']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(503);
      expect(res.headers['content-type']).toContain('text/html');
      expect(res.body).toContain('SLACK_CLIENT_ID');
    }
    await app.close();
  });
});
