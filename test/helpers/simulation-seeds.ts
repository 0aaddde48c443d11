import { expect, it } from 'vitest';
import { randomScenario, runSimulation, type SimulationOptions } from '../../src/sim/index.js';
import { SimOracle } from './sim-oracle.js';

// CI runs 1,000 seeds per run, split over two files so both cores work;
// TALLYMESH_SIM_SEEDS raises the count (a longer run), TALLYMESH_SIM_SEED
// replays one seed.
const TOTAL = Number(process.env.TALLYMESH_SIM_SEEDS ?? 1000);
const ONE = process.env.TALLYMESH_SIM_SEED === undefined ? undefined : Number(process.env.TALLYMESH_SIM_SEED);

/** Runs one seed under the oracle of test/helpers/sim-oracle.ts; null when it held every guarantee. */
async function verdict(seed: number, overrides: Partial<SimulationOptions>): Promise<string | null> {
  const oracle = new SimOracle();
  const problems = oracle.verdict(await runSimulation({ ...randomScenario(seed, overrides), inspect: oracle.inspect }));
  return problems.length === 0 ? null : `seed ${seed}: ${problems.join('; ')} (replay: TALLYMESH_SIM_SEED=${seed})`;
}

/**
 * Registers the seeded-simulation property for part `part` (0-based) of
 * `parts` of the first `total` seeds (default: `TALLYMESH_SIM_SEEDS`, 1,000),
 * each scenario with `overrides` (e.g. another partition policy).
 */
export function simulateSeeds(part: number, parts: number, overrides: Partial<SimulationOptions> = {}, total = TOTAL): void {
  const seeds =
    ONE === undefined
      ? Array.from({ length: total }, (_, i) => i + 1).filter((s) => s % parts === part)
      : part === 0
        ? [ONE]
        : [];
  const policy = overrides.partition === undefined ? '' : `, partition ${overrides.partition}`;
  it(`converges exactly after heal, never over-counts and keeps HLCs monotonic (${seeds.length} seeds${policy})`, async () => {
    const failures: string[] = [];
    for (const seed of seeds) {
      const v = await verdict(seed, overrides);
      if (v !== null) failures.push(v);
    }
    expect(failures).toEqual([]);
  }, 900_000);
}
