import { defineConfig } from 'vitest/config';

// CI asks for a JSON report beside the console one, to print a closing summary line.
const report = process.env.CITYGRID_TEST_REPORT;

// Two cores: two test files at a time. Integration files each get their own database cloned
// from a migrated, seeded template (helpers/global-setup.ts), so files share no state; unit
// files (pure functions) need no database and skip building it.
export default defineConfig({
  test: {
    reporters: report ? ['default', ['json', { outputFile: report }]] : ['default'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    teardownTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['unit/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['**/*.test.ts'],
          exclude: ['node_modules/**', 'bench/**', 'unit/**'],
          globalSetup: ['./helpers/global-setup.ts'],
        },
      },
    ],
  },
});
