import { defineConfig } from 'vitest/config';

// Quiet by default: a passing run prints the runner's summary. Tests' console output is shown for
// failed tests only, and the handler's JSON logs and EMF lines, which Powertools writes past the
// console, are held back by test/support/quiet-output.ts unless a test fails. TEST_LOGS=1 shows all.
const showLogs = process.env.TEST_LOGS === '1';
const setupFiles = ['test/support/quiet-output.ts'];

export default defineConfig({
  test: {
    // The reporter reads this from the root config only.
    silent: showLogs ? false : 'passed-only',
    // Integration tests take seconds by nature (real processes, real grace periods): the reporter
    // lists only tests slower than this under their file.
    slowTestThreshold: 15_000,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          setupFiles,
          // Projects with different worker limits must run in separate groups; units go first.
          sequence: { groupOrder: 0 },
        },
      },
      {
        // Integration and reliability share one real control plane and one moto server,
        // started once by the global setup; a test that must break the API server starts its own.
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/reliability/**/*.test.ts'],
          globalSetup: ['test/bed/global-setup.ts'],
          setupFiles,
          testTimeout: 180_000,
          hookTimeout: 600_000,
          // Two cores: the control plane needs one of them.
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
