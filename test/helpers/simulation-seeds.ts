import { expect, it } from 'vitest';
import { randomScenario, runSimulation, type SimulationReport } from '../../src/sim/simulation.js';

// CI runs 1,000 seeds per run, split over two files so both cores work;
// TALLYMESH_SIM_SEEDS raises the count (a longer run), TALLYMESH_SIM_SEED
// replays one seed.
const TOTAL = Number(process.env.TALLYMESH_SIM_SEEDS ?? 1000);
const ONE = process.env.TALLYMESH_SIM_SEED === undefined ? undefined : Number(process.env.TALLYMESH_SIM_SEED);

function verdict(r: SimulationReport): string | null {
  const problems = [];
  if (!r.exact) problems.push(`not exact: ${JSON.stringify(r.mismatches.slice(0, 3))}`);
  if (r.overCounted) problems.push('a node held more than the true total');
  if (!r.hlcMonotonic) problems.push('an HLC went backwards');
  return problems.length === 0 ? null : `seed ${r.seed}: ${problems.join('; ')} (replay: TALLYMESH_SIM_SEED=${r.seed})`;
}

/** Registers the seeded-simulation property for part `part` (0-based) of `parts`. */
export function simulateSeeds(part: number, parts: number): void {
  const seeds =
    ONE === undefined
      ? Array.from({ length: TOTAL }, (_, i) => i + 1).filter((s) => s % parts === part)
      : part === 0
        ? [ONE]
        : [];
  it(`converges exactly after heal, never over-counts and keeps HLCs monotonic (${seeds.length} seeds)`, async () => {
    const failures: string[] = [];
    for (const seed of seeds) {
      const v = verdict(await runSimulation(randomScenario(seed)));
      if (v !== null) failures.push(v);
    }
    expect(failures).toEqual([]);
  }, 900_000);
}
