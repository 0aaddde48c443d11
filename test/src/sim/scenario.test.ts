import { describe, expect, it } from 'vitest';
import { honestNodes, MIN_SCENARIO, randomScenario } from '../../../src/sim/index.js';

const SEEDS = Array.from({ length: 1000 }, (_, i) => i + 1);
const scenarios = SEEDS.map((seed) => randomScenario(seed));
const share = (pred: (s: (typeof scenarios)[number]) => boolean) => scenarios.filter(pred).length / scenarios.length;

describe('the scenario generator (the CI seeds 1–1000)', () => {
  it('replays: the same seed, the same scenario', () => {
    expect(randomScenario(77)).toEqual(randomScenario(77));
    expect(randomScenario(77)).not.toEqual(randomScenario(78));
  });

  it('never draws a scenario below the minimum size', () => {
    for (const s of scenarios) {
      expect(s.nodes).toBeGreaterThanOrEqual(MIN_SCENARIO.nodes);
      expect(s.nodes).toBeLessThanOrEqual(9);
      expect(s.durationMs).toBeGreaterThanOrEqual(MIN_SCENARIO.windows * s.windowMs);
      const generations = s.keyChurnMs === undefined ? 1 : Math.floor(s.durationMs / s.keyChurnMs);
      expect(s.keys * generations).toBeGreaterThanOrEqual(MIN_SCENARIO.keys);
      expect(s.buckets).toBeGreaterThanOrEqual(1);
      expect(s.buckets).toBeLessThanOrEqual(600);
    }
  });

  // Each share is the fraction of CI seeds drawing the feature; each must be
  // common enough that 1,000 seeds exercise it many times.
  it('covers the scenario space the audit found missing', () => {
    const offsetSpan = (s: (typeof scenarios)[number]) => Math.max(...(s.offsetsMs ?? [0])) - Math.min(...(s.offsetsMs ?? [0]));
    const rogue = (s: (typeof scenarios)[number]) => honestNodes(new Map((s.offsetsMs ?? []).map((o, i) => [`n${i + 1}`, o])), 500).size < s.nodes;
    const features: Record<string, number> = {
      'one bucket': share((s) => s.buckets === 1),
      'over 300 buckets': share((s) => (s.buckets ?? 0) > 300),
      'window not a multiple of its buckets': share((s) => s.windowMs % (s.buckets ?? 1) !== 0),
      'more than 6 nodes': share((s) => s.nodes > 6),
      'clocks spread past the bound (relayed)': share((s) => offsetSpan(s) > 500 && !rogue(s)),
      'a clock past the bound': share(rogue),
      'a cut longer than a window': share((s) => (s.partitions ?? []).some((p) => p.heal !== null && p.heal - p.at > s.windowMs)),
      'a one-way cut': share((s) => (s.partitions ?? []).some((p) => p.kind === 'one-way')),
      'a bridge': share((s) => (s.partitions ?? []).some((p) => p.kind === 'bridge')),
      'a bridge that never heals': share((s) => (s.partitions ?? []).some((p) => p.heal === null)),
      'a crash (state lost)': share((s) => (s.crashes ?? []).length > 0),
      'a graceful restart': share((s) => (s.restarts ?? []).length > 0),
      'a join': share((s) => (s.joins ?? []).length > 0),
      'a leave': share((s) => (s.leaves ?? []).length > 0),
      'key churn': share((s) => s.keyChurnMs !== undefined),
      resets: share((s) => (s.resetRate ?? 0) > 0),
      'a limit change during a cut': share((s) => (s.limitChanges ?? []).some((c) => (s.partitions ?? []).some((p) => c.at >= p.at && (p.heal === null || c.at < p.heal)))),
      'loss, duplication or reordering': share((s) => (s.loss ?? 0) + (s.duplicate ?? 0) + (s.reorder ?? 0) > 0),
    };
    for (const [feature, fraction] of Object.entries(features)) expect(fraction, feature).toBeGreaterThanOrEqual(0.04);
  });
});
