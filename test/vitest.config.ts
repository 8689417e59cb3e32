import { defineConfig } from 'vitest/config';

// Two cores: two test files at a time. Each file gets its own database cloned from a migrated,
// seeded template (see helpers/global-setup.ts), so files share no state.
// CI asks for a JSON report beside the console one, to print a closing summary line.
const report = process.env.CITYGRID_TEST_REPORT;

export default defineConfig({
  test: {
    reporters: report ? ['default', ['json', { outputFile: report }]] : ['default'],
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
