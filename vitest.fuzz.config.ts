import { defineConfig } from 'vitest/config';

// `npm run fuzz`: the frame decoder, the replication state machine and the
// HTTP API under random and mutated input. Files are *.fuzz.ts (not *.test.ts)
// so the default `npm test` never picks them up. TALLYMESH_FUZZ_LONG=1 runs ~10×
// longer; TALLYMESH_FUZZ_SEED picks the seed.
export default defineConfig({
  test: {
    include: ['test/fuzz/**/*.fuzz.ts'],
    pool: 'forks',
    // --expose-gc: the fuzzers measure heap growth after a full collection.
    execArgv: ['--expose-gc'],
    fileParallelism: false,
    testTimeout: process.env.TALLYMESH_FUZZ_LONG === '1' ? 3_600_000 : 240_000,
    hookTimeout: 60_000,
  },
});
