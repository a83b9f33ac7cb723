/**
 * Owner-level access for migrations, seeding and operational scripts only. Application code
 * imports `@konstruct/db`, which offers no way around row-level security.
 */
export { createPrisma } from './client.ts';
export { migrate, listMigrations } from './migrate.ts';
export { startEmbeddedPostgres, type EmbeddedPostgres, type EmbeddedOptions } from './embedded.ts';
