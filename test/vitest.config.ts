import { defineConfig } from 'vitest/config';

// Two cores: two test files at a time. Each file gets its own database cloned from a migrated,
// seeded template (see helpers/global-setup.ts), so files share no state.
export default defineConfig({
  test: {
    globalSetup: ['./helpers/global-setup.ts'],
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'bench/**'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    teardownTimeout: 30_000,
  },
});
