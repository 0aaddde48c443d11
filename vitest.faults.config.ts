import { defineConfig } from 'vitest/config';

// `npm run test:faults`: real daemons in network namespaces (needs root).
// One file, one cluster, faults in sequence; the whole run stays under ~8 minutes.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.faults.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 150_000,
    hookTimeout: 360_000,
    reporters: ['default'],
  },
});
