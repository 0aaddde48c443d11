import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests open real sockets and spawn daemons; keep the 2-core CI box calm.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
