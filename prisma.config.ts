import { defineConfig } from 'prisma/config';

// Migrations are SQL files applied by `npm run db:migrate` (scripts/migrate.ts); the Prisma
// CLI is used here only to generate the client.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
