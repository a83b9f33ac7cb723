import { builder } from '../builder.ts';
import './tenant.ts';
import './operator.ts';
import './api-key.ts';
import './channel-connection.ts';
import './rate-limit.ts';
import './rate-limit-counters.ts';
import './slack-install.ts';

export const schema = builder.toSubGraphSchema({ linkUrl: 'https://specs.apollo.dev/federation/v2.6' });
