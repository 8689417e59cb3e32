import { defineConfig } from 'drizzle-kit';

// Generates SQL for review only; every file under migrations/ is read and edited by hand.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema/index.ts',
  out: './migrations',
  casing: 'snake_case',
  // PostGIS owns spatial_ref_sys & co.; never let drizzle-kit plan changes to them.
  extensionsFilters: ['postgis'],
});
