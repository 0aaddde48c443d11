import { describe, expect, it } from 'vitest';
import type { SimulationView } from '../../src/sim/index.js';
import { TruthLog } from '../../src/sim/truth-log.js';
import { checkShareBound } from './sim-share-bound.js';

const W = 1_000;
const B = 10;
const LIMIT = 10;

/** A finished run's view as the check reads it: three nodes, clocks agreeing, no faults, `hits` as [node, virtual ms]. */
function viewOf(hits: Array<[string, number]>, setup: (truth: TruthLog) => void = () => {}): SimulationView {
  const truth = new TruthLog(W, LIMIT);
  for (const n of ['n1', 'n2', 'n3']) truth.started(`${n}#i1`, 0);
  setup(truth);
  for (const [node, at] of hits) truth.admit(`${node}#i1`, 'k', 0, 1, at, node);
  return {
    phase: 'end',
    elapsedMs: 5_000,
    nowMs: 5_000,
    nodes: [],
    truth,
    keys: ['k'],
    offsetsMs: new Map([['n1', 0], ['n2', 0], ['n3', 0]]),
    honest: new Set(['n1', 'n2', 'n3']),
    maxClockOffsetMs: 500,
    partition: 'share',
    windowMs: W,
    buckets: B,
    isCut: () => false,
    timings: { stepMs: 5, gossipIntervalMs: 20, digestIntervalMs: 250, suspectAfterMs: 200, joinTimeoutMs: 500, latencyMs: [1, 5], loss: 0, duplicate: 0, reorder: 0 },
    replicasStarted: 3,
  };
}

/** `n` hits on `node`, one every `every` ms from `from`. */
const spaced = (node: string, from: number, n: number, every: number): Array<[string, number]> => Array.from({ length: n }, (_, i) => [node, from + i * every]);

describe('the share bound check', () => {
  it('passes the limit and fails past it plus the in-flight hits (D = a gossip interval + a latency + a step)', () => {
    // 10 hits 50 ms apart: at most one in any D of 30 ms.
    const at = checkShareBound(viewOf(spaced('n1', 1_000, 10, 50)));
    expect(at.problems).toEqual([]);
    expect(at.figures.replicationMs).toBe(30);
    expect(at.figures.aligned).toBeGreaterThan(0);
    expect(at.figures.sliding).toBe(10);
    // 12 in one aligned span: past 10 + 1 in flight.
    const past = checkShareBound(viewOf(spaced('n1', 1_000, 12, 50)));
    expect(past.problems[0]).toMatch(/^the share bound: k aligned span of buckets 10–19 holds 12 hits > 11 = limit 10 \+ in flight 1/);
  });

  it('allows what the cluster admitted before a cut was detected, and only around that cut', () => {
    const cut = (truth: TruthLog) => truth.cut(['n1'], ['n2', 'n3'], false, 'split', 1_000);
    // Detection by 1,000 + 2·5 + 1 + 200 + 2·20 + 5 = 1,256 ms: 6 hits 40 ms apart from 1,000 are undetected.
    const hits = [...spaced('n1', 1_000, 6, 40), ...spaced('n2', 1_300, 10, 50)];
    expect(checkShareBound(viewOf(hits, cut)).problems).toEqual([]);
    expect(checkShareBound(viewOf(hits)).problems).not.toEqual([]);
    // The same excess a window after the cut: its allowance does not reach there.
    const later = [...spaced('n1', 3_000, 6, 40), ...spaced('n2', 3_300, 10, 50)];
    expect(checkShareBound(viewOf(later, cut)).problems).not.toEqual([]);
  });

  it('leaves out the windows of the documented exceptions, and counts them', () => {
    const hits = spaced('n1', 1_000, 14, 50);
    const reset = checkShareBound(viewOf(hits, (truth) => truth.reset('k', 'n1#i1', [], 1_300)));
    expect(reset.problems).toEqual([]);
    expect(reset.figures.excluded.reset).toBeGreaterThan(0);
    const started = checkShareBound(viewOf(hits, (truth) => truth.started('n4#i2', 1_200)));
    expect(started.problems).toEqual([]);
    expect(started.figures.excluded['start before ready']).toBeGreaterThan(0);
    const lossy = viewOf(hits);
    lossy.timings = { ...lossy.timings, loss: 0.01 };
    expect(checkShareBound(lossy).figures).toMatchObject({ checked: false, excludedSeed: 'loss: D ≥ W' });
  });
});
