import { defineConfig } from 'vitest/config';

// `npm run test:faults`: real daemons in network namespaces (needs root).
// Files are *.faults.ts (not *.test.ts) so the default `npm test` never picks them up.
// One file, one cluster, faults in sequence; the whole run stays under ~8 minutes.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.faults.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 150_000,
    hookTimeout: 360_000,
    reporters: ['default'],
  },
});
