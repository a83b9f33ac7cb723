export { startBridge, type Bridge } from './server.ts';
export { loadEnv, type BridgeConfig } from './env.ts';
export { normalizeSlackEvent, slackDedupKey } from './channels/slack/normalize.ts';
export { normalizeWhatsAppMessage, whatsappConversationRef, whatsappDedupKey } from './channels/whatsapp/normalize.ts';
export { createWhatsAppMediaResolver, type WhatsAppMediaResolver, type DownloadedMedia } from './channels/whatsapp/media.ts';
export { WhatsAppConnections, type OutsideWindowTemplate } from './channels/whatsapp/connections.ts';
export { metaSignature, verifyMetaSignature } from './channels/whatsapp/signature.ts';
