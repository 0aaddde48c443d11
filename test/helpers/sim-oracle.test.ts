import { describe, expect, it } from 'vitest';
import { randomScenario, runSimulation, type SimulationView } from '../../src/sim/index.js';
import { SimOracle } from './sim-oracle.js';

/** Slips one hit of a replica that never admitted anything into the first node's cells. */
function plantGhostHit(view: SimulationView): void {
  const r = view.nodes[0].limiter.replica;
  const key = view.keys[0];
  r.merge({ replicas: ['ghost#1'], keys: [[key, [r.currentBucket(), 0, 0, 1]]] });
}

describe('the simulation oracle', () => {
  it('agrees with a clean run', async () => {
    const oracle = new SimOracle();
    const report = await runSimulation({ ...randomScenario(42), inspect: oracle.inspect });
    expect(oracle.verdict(report)).toEqual([]);
  }, 60_000);

  it('finds a hit nobody admitted, after heal and while the load runs, and the report that missed it', async () => {
    const atEnd = new SimOracle();
    const late = await runSimulation({
      ...randomScenario(42),
      inspect: (view) => {
        if (view.phase === 'end') plantGhostHit(view);
        atEnd.inspect(view);
      },
    });
    const problems = atEnd.verdict(late);
    expect(problems.some((p) => /^at \d+ ms n1 over-counts \S+ of ghost#1: it holds 1 in buckets ≥ \d+; the log has 0 possibly there/.test(p))).toBe(true);
    expect(problems.some((p) => /^after heal n1 holds the wrong count of \S+ of ghost#1: it holds 1 in buckets ≥ \d+; the log has 0 possibly there/.test(p))).toBe(true);
    // The report was taken before the ghost arrived: the oracle says so rather than trusting it.
    expect(problems).toContain('the report says exact=true, the oracle found exact=false');

    const midRun = new SimOracle();
    let planted = false;
    const early = await runSimulation({
      ...randomScenario(42),
      inspect: (view) => {
        if (!planted && view.phase === 'load' && view.elapsedMs >= 500) {
          plantGhostHit(view);
          planted = true;
        }
        midRun.inspect(view);
      },
    });
    expect(midRun.verdict(early).some((p) => /^at \d+ ms n1 over-counts \S+ of ghost#1/.test(p))).toBe(true);
  }, 60_000);
});
