import { builder } from '../builder.ts';
import './memory-item.ts';
import './memory-search-hit.ts';
import './query.ts';
import './delete-memory.ts';
import './forget-end-user.ts';
import './agent.ts';

export const schema = builder.toSubGraphSchema({ linkUrl: 'https://specs.apollo.dev/federation/v2.6' });
