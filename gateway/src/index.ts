export { loadEnv, type GatewayConfig } from './env.ts';
export { startGateway } from './server.ts';
