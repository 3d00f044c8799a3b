import { defineConfig } from 'vitest/config';

/**
 * Timeouts are generous on purpose: many tests spawn the CLI and the daemon as processes, and on a busy
 * 2-core machine one CLI process can take over a second to start. No test asserts on wall-clock time;
 * speed is measured by `npm run bench`, never here.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
