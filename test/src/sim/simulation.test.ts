import { describe, expect, it } from 'vitest';
import { randomScenario, runSimulation } from '../../../src/sim/simulation.js';

describe('simulated cluster', () => {
  it('replays a seed bit for bit', async () => {
    const a = await runSimulation(randomScenario(42));
    const b = await runSimulation(randomScenario(42));
    expect(b).toEqual(a);
  }, 60_000);

  it('admits at most a few percent over the limit under even load with no faults', async () => {
    const r = await runSimulation({
      seed: 7,
      nodes: 5,
      durationMs: 12_000,
      rate: 2_000,
      keys: 1,
      limit: 1_000,
      windowMs: 4_000,
      buckets: 40,
    });
    expect(r.exact).toBe(true);
    expect(r.maxAdmittedRatio).toBeLessThanOrEqual(1.05);
    expect(r.maxAdmittedRatio).toBeGreaterThan(0.9);
  }, 60_000);
});
