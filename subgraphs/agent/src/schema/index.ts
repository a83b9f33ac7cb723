import { builder } from '../builder.ts';
import './agent.ts';
import './tool-definition.ts';
import './escalation-rule.ts';
import './conversation.ts';
import './message.ts';
import './handoff.ts';
import './tenant.ts';

export const schema = builder.toSubGraphSchema({ linkUrl: 'https://specs.apollo.dev/federation/v2.6' });
