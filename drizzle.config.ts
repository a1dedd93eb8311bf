import { defineConfig } from 'drizzle-kit';

// One migration set for PostgreSQL 15; review every generated file (keep it within PostgreSQL 15).
export default defineConfig({
  dialect: 'postgresql',
  schema: './db/schema.ts',
  out: './db/migrations',
});
