import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/helpers/yield-between-tests.ts'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // FUSE and repo tests share /dev/fuse and the disk: keep files in one process at a time.
    fileParallelism: false,
    pool: 'forks',
  },
});
