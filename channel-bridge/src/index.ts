export { startBridge, type Bridge } from './server.ts';
export { loadEnv, type BridgeConfig } from './env.ts';
export { normalizeSlackEvent, slackDedupKey } from './channels/slack/normalize.ts';
