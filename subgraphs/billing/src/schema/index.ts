import { builder } from '../builder.ts';
import './plan.ts';
import './subscription.ts';
import './budget.ts';
import './provider-key.ts';
import './usage.ts';
import './agent.ts';

export const schema = builder.toSubGraphSchema({ linkUrl: 'https://specs.apollo.dev/federation/v2.6' });
