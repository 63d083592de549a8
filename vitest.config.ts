import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
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
