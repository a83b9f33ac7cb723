export * from './env.ts';
export * from './logger.ts';
export * from './errors.ts';
export * from './contract.ts';
export * from './crypto.ts';
export * from './health.ts';
export * from './service.ts';
