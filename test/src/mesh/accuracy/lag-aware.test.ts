/**
 * Lag-aware admission on the simulated network (docs/accuracy.md, Lag-aware
 * admission): a healthy cluster with real replication delay, every node
 * offered many times the limit's rate on one hot key. The truth is the
 * harness's own log of admitted decisions; the same seeded run with
 * `lagAware: false` (the count alone, as before) is the competitor.
 */
import { describe, expect, it } from 'vitest';
import type { Mesh } from '../../../../src/mesh/mesh.js';
import { createSimNetwork } from '../../../../transport/sim/sim-network.js';
import { createPrng } from '../../../../transport/sim/prng.js';
import { FAST_INTERVALS, simNode } from '../../../helpers/sim-mesh.js';

const STEP_MS = 2;

interface Scenario {
  seed: number;
  nodes: number;
  /** Offered load as a multiple of the limit's rate, spread evenly over the nodes. */
  load: number;
  limit: number;
  windowMs: number;
  buckets: number;
  latencyMs: [number, number];
  gossipIntervalMs: number;
  lagAware: boolean;
  windows: number;
  /** Requests arrive in batches of this many, decided at once (an HTTP batch); default 1. */
  batch?: number;
}

interface Result {
  /** Admission times. */
  times: number[];
  sliding: number;
  least: number;
  aligned: number;
}

async function run(s: Scenario): Promise<Result> {
  const net = createSimNetwork({ seed: s.seed, latencyMs: s.latencyMs });
  const ids = Array.from({ length: s.nodes }, (_, i) => `n${i}`);
  const nodes: Mesh[] = [];
  for (const id of ids) {
    nodes.push(
      await simNode(net, id, ids.filter((p) => p !== id), {
        ...FAST_INTERVALS,
        gossipIntervalMs: s.gossipIntervalMs,
        limiters: [{ name: 'api', limit: s.limit, windowMs: s.windowMs, buckets: s.buckets, lagAware: s.lagAware }],
      }),
    );
  }
  net.advance(1_000);
  expect(nodes.every((m) => m.ready)).toBe(true);
  const rng = createPrng(s.seed);
  const perNodePerMs = (s.load * s.limit) / s.windowMs / s.nodes;
  const owed = new Array<number>(s.nodes).fill(0);
  const times: number[] = [];
  const start = net.now();
  const end = start + s.windows * s.windowMs;
  while (net.now() < end) {
    for (let i = 0; i < s.nodes; i++) {
      owed[i] += perNodePerMs * STEP_MS * (0.5 + rng.next());
      const batch = s.batch ?? 1;
      while (owed[i] >= batch) {
        owed[i] -= batch;
        for (let k = 0; k < batch; k++) if (nodes[i].get('api')!.consume('hot').allowed) times.push(net.now());
      }
    }
    net.advance(STEP_MS);
  }
  for (const m of nodes) await m.close();
  // After the first window (warm-up): the most and least admitted in any window [t, t + W).
  const from = start + s.windowMs;
  let sliding = 0;
  let least = Infinity;
  for (let t = from; t + s.windowMs <= end; t += STEP_MS) {
    let n = 0;
    for (const at of times) if (at >= t && at < t + s.windowMs) n++;
    sliding = Math.max(sliding, n);
    least = Math.min(least, n);
  }
  const g = s.windowMs / s.buckets;
  const per = new Map<number, number>();
  for (const at of times) if (at >= from) per.set(Math.floor(at / g), (per.get(Math.floor(at / g)) ?? 0) + 1);
  let aligned = 0;
  for (const b of per.keys()) {
    let n = 0;
    for (let k = b; k < b + s.buckets; k++) n += per.get(k) ?? 0;
    aligned = Math.max(aligned, n);
  }
  return { times, sliding: sliding / s.limit, least: least / s.limit, aligned: aligned / s.limit };
}

const base = { seed: 11, limit: 1000, windowMs: 5000, buckets: 10, gossipIntervalMs: 20, windows: 4 };

/** The same seeded run with lag-aware admission on and off (the competitor), and both results for failure messages. */
async function both(s: Omit<Scenario, 'lagAware'>): Promise<{ on: Result; off: Result; ctx: string }> {
  const on = await run({ ...s, lagAware: true });
  const off = await run({ ...s, lagAware: false });
  return { on, off, ctx: JSON.stringify({ on: { ...on, times: undefined }, off: { ...off, times: undefined } }) };
}

describe('lag-aware admission on a healthy cluster with replication delay', () => {
  it('keeps 3 nodes at 15x load within 2 % of the limit in any window (the count alone: 6.8 %), exact in aligned spans, and under-admits by at most 5 %', async () => {
    const s = { ...base, nodes: 3, load: 15, latencyMs: [5, 25] as [number, number] };
    const { on, off, ctx } = await both(s);
    expect(on.sliding, ctx).toBeLessThanOrEqual(1.02);
    // The one-node floor of aligned spans is 1 (window-math.md): within 0.01 of it.
    expect(on.aligned, ctx).toBeLessThanOrEqual(1.01);
    expect(on.least, ctx).toBeGreaterThanOrEqual(0.95);
    // The competitor in the same run: the same seed decided on the count alone.
    expect(off.sliding - on.sliding, ctx).toBeGreaterThan(0.03);
    expect(off.aligned - on.aligned, ctx).toBeGreaterThan(0.02);
  }, 60_000);

  it('keeps 5 nodes at 15x load within 2 % (the count alone: 8.4 %)', async () => {
    const s = { ...base, nodes: 5, load: 15, latencyMs: [5, 25] as [number, number] };
    const { on, off, ctx } = await both(s);
    expect(on.sliding, ctx).toBeLessThanOrEqual(1.02);
    expect(on.aligned, ctx).toBeLessThanOrEqual(1.01);
    expect(off.sliding - on.sliding, ctx).toBeGreaterThan(0.05);
  }, 60_000);

  it('keeps aligned spans at the limit at 100x load, where the count alone admits 10 % over', async () => {
    const s = { ...base, nodes: 3, load: 100, latencyMs: [5, 25] as [number, number] };
    const { on, off, ctx } = await both(s);
    expect(on.aligned, ctx).toBeLessThanOrEqual(1.01);
    expect(off.aligned, ctx).toBeGreaterThan(1.05);
  }, 60_000);

  it('keeps aligned spans at the limit when requests come in batches of 25 (budget comes back at a bucket boundary on every node at once)', async () => {
    const s = { ...base, nodes: 5, load: 15, latencyMs: [1, 5] as [number, number], batch: 25 };
    const { on, off, ctx } = await both(s);
    // Without the burst term in the quota's threshold (each node sees the budget come back at once
    // and takes a whole batch before hearing of the others): aligned 1.027, any window 1.04.
    expect(on.aligned, ctx).toBeLessThanOrEqual(1.01);
    expect(on.sliding, ctx).toBeLessThanOrEqual(1.03);
    expect(off.sliding, ctx).toBeGreaterThan(1.05);
  }, 60_000);

  it('changes nothing on one node (no peer, no hot key)', async () => {
    const s = { ...base, nodes: 1, load: 15, latencyMs: [5, 25] as [number, number] };
    const on = await run({ ...s, lagAware: true });
    const off = await run({ ...s, lagAware: false });
    expect(on.times).toEqual(off.times);
  }, 60_000);
});
