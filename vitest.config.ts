import { defineConfig } from 'vitest/config';

// Why: two cores. Unit tests run in parallel; then the files that start real servers (etcd, sshd,
// PHP-FPM, nginx, HAProxy, the CLI) run one at a time, so their timeouts hold on a loaded machine.
const shared = { testTimeout: 30_000, hookTimeout: 60_000 };

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    projects: [
      {
        test: {
          ...shared,
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          sequence: { groupOrder: 0 },
          maxWorkers: 2,
        },
      },
      {
        test: {
          ...shared,
          name: 'real-servers',
          include: [
            'test/integration/**/*.test.ts',
            'test/cli/**/*.test.ts',
            'test/e2e/**/*.test.ts',
            'test/package/**/*.test.ts',
          ],
          sequence: { groupOrder: 1 },
          maxWorkers: 1,
          fileParallelism: false,
        },
      },
    ],
  },
});
