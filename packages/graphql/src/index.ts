export * from './context.ts';
export * from './builder.ts';
export * from './server.ts';
export * from './pagination.ts';
