/**
 * Shared fast-check settings: every property runs from a fixed seed, so a run
 * is reproducible. fast-check prints the seed and the counterexample path on
 * failure; replay with `TALLYMESH_SEED=<seed>` (and fast-check's `path`).
 * `TALLYMESH_RUNS=<factor>` multiplies the number of runs for long soaks.
 */
import type { Parameters } from 'fast-check';

/** The seed every property starts from (override with TALLYMESH_SEED). */
export const SEED = Number(process.env.TALLYMESH_SEED ?? 0x7a11e5);

const SCALE = Number(process.env.TALLYMESH_RUNS ?? 1);

/** fast-check parameters: the shared seed, `numRuns` scaled by TALLYMESH_RUNS. */
export function fcParams<T = unknown>(numRuns = 100): Parameters<T> {
  return { seed: SEED, numRuns: Math.max(1, Math.round(numRuns * SCALE)), endOnFailure: false };
}
