import { builder } from '../builder.ts';
import './audit-event.ts';
import './audit-event-filter.ts';
import './audit-chain-status.ts';
import './agent.ts';
import './query.ts';

export const schema = builder.toSubGraphSchema({ linkUrl: 'https://specs.apollo.dev/federation/v2.6' });
