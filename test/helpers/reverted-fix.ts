/**
 * Runs the CI's simulation seeds against a build with one fix reverted (a
 * patch applied by the calling test file, never in shipped code) and counts
 * the seeds whose oracle verdict catches it. The simulator is only evidence
 * if it can fail: each reverted fix must be caught by the CI run.
 *
 * In CI the run stops at the first catching seed (one is the proof; the cost
 * stays small). `TALLYMESH_SIM_REVERT_ALL=1` runs every CI seed
 * (`TALLYMESH_SIM_SEEDS`, default 1,000) and prints the fraction that catch
 * the reverted fix: the figure quoted in docs/reliability.md.
 */
import { expect, it } from 'vitest';
import { randomScenario, runSimulation, type SimulationOptions } from '../../src/sim/index.js';
import { SimOracle } from './sim-oracle.js';

const TOTAL = Number(process.env.TALLYMESH_SIM_SEEDS ?? 1000);
/** The first seed (TALLYMESH_SIM_SEEDS_FROM, default 1): a long measurement may run in parts. */
const FROM = Number(process.env.TALLYMESH_SIM_SEEDS_FROM ?? 1);
const ALL = process.env.TALLYMESH_SIM_REVERT_ALL === '1';
/** Catches after which a CI run stops: one proves the simulator can fail. */
const ENOUGH = 1;

/** Registers a test: with `defect`'s fix reverted (by the calling file), the CI seeds must catch it. */
export function expectCaught(defect: string, scenario: (seed: number) => SimulationOptions = randomScenario): void {
  it(`catches defect ${defect} with its fix reverted`, async () => {
    const caught: string[] = [];
    let ran = 0;
    for (let seed = FROM; seed <= TOTAL && (ALL || caught.length < ENOUGH); seed++) {
      ran++;
      const oracle = new SimOracle();
      let problems: string[];
      try {
        problems = oracle.verdict(await runSimulation({ ...scenario(seed), inspect: oracle.inspect }));
      } catch (err) {
        problems = [`threw ${(err as Error).message}`];
      }
      if (problems.length > 0) caught.push(`seed ${seed}: ${problems[0]}`);
    }
    const line = `defect ${defect} reverted: caught by ${caught.length} of ${ran} seeds (${((100 * caught.length) / ran).toFixed(1)} %)${caught.length > 0 ? `; first: ${caught[0]}` : ''}`;
    console.log(line);
    expect(caught.length, line).toBeGreaterThan(0);
  }, 1_800_000);
}
