/**
 * Lag-aware admission's estimates (crdt/lag-estimate.ts, docs/accuracy.md):
 * what a delta teaches them, what a decision reads from them, and their
 * bounds. Expected figures are computed here from the inputs (rates × delays),
 * not read back from the estimator.
 */
import { describe, expect, it } from 'vitest';
import type { CellBatch } from '../../crdt/cell-batch.js';
import { LagEstimate, MAX_HOT_KEYS } from '../../crdt/lag-estimate.js';
import { SlidingWindow } from '../../crdt/sliding-window.js';
import { windowView } from '../helpers/cells.js';

const T = 1_800_000_000_000;
/** The estimator's physical clock, moved by the test. */
let now = T;
/** Sets the clock to `t`; spreads no arguments (a tick at `t` reads it). */
const at = (t: number): [] => {
  now = t;
  return [];
};
const WINDOW_MS = 10_000;
const TICK_MS = 20;

function lagAwareWindow(prefill = 1, quota = true): SlidingWindow {
  const w = new SlidingWindow({ windowMs: WINDOW_MS, buckets: 10, replicaId: 'self#1' });
  w.estimate = new LagEstimate(WINDOW_MS, { prefill, smoothing: 1, quota }, () => now);
  return w;
}

/** A delta raising `key`'s cell of each replica to `counts[i]` in the bucket of `t`. */
function delta(w: SlidingWindow, key: string, replicas: string[], counts: number[], t: number): CellBatch {
  const flat: number[] = [];
  replicas.forEach((_, i) => flat.push(w.bucketOf(t), i, 0, counts[i]));
  return { replicas, keys: [[key, flat]] };
}

/** Delays by replica id, for the tick. */
const delays = (d: Record<string, number>) => (id: string) => d[id] ?? 0;

describe('lag-aware estimates', () => {
  it("pre-fills a hot key's count with prefill × Σ rate × delay, from the hits deltas bring", () => {
    const w = lagAwareWindow(0.7, false);
    const est = w.estimate as LagEstimate;
    // Tick 1 learns the delays; b brings 10 hits and c 30 in the next 20 ms.
    est.tick(...at(T), w.replicaIds, () => 0);
    w.merge(delta(w, 'k', ['b#1', 'c#1'], [10, 30], T + 5), T + 5, true, true);
    est.tick(...at(T + TICK_MS), w.replicaIds, delays({ 'b#1': 15, 'c#1': 40 }));
    // The delays apply from the tick that took them: b's and c's next hits.
    w.merge(delta(w, 'k', ['b#1', 'c#1'], [20, 60], T + 30), T + 30, true, true);
    est.tick(...at(T + 2 * TICK_MS), w.replicaIds, delays({ 'b#1': 15, 'c#1': 40 }));
    const unseen = (10 * 15 + 30 * 40) / TICK_MS; // hits in flight: Σ rate_p × D_p
    const hot = est.hotOf(0, 'k');
    expect(hot?.prefill).toBe(Math.floor(0.7 * unseen));
    // The decision counts it (the quota is off here): 80 hits counted, limit 80 + pre-fill + 1 admits one more and no more.
    const limit = 80 + Math.floor(0.7 * unseen) + 1;
    expect(w.decide('k', 1, limit, T + 2 * TICK_MS, true).allowed).toBe(true);
    expect(w.decide('k', 1, limit, T + 2 * TICK_MS, true).allowed).toBe(false);
  });

  it('learns nothing from snapshot chunks, its own cells, or cells of buckets long gone', () => {
    const w = lagAwareWindow();
    const est = w.estimate as LagEstimate;
    est.tick(...at(T), w.replicaIds, () => 10);
    w.merge(delta(w, 'snap', ['b#1'], [50], T), T, true, false);
    w.merge(delta(w, 'old', ['b#1'], [50], T - 5_000), T, true, true);
    w.merge(delta(w, 'mine', ['self#1'], [50], T), T, true, true);
    expect(est.size).toBe(0);
  });

  it('forgets a key idle for a window, and tracks at most MAX_HOT_KEYS keys whatever a peer sends', () => {
    const w = lagAwareWindow();
    const est = w.estimate as LagEstimate;
    est.tick(...at(T), w.replicaIds, () => 10);
    const batch: CellBatch = { replicas: ['b#1'], keys: [] };
    for (let i = 0; i < MAX_HOT_KEYS + 500; i++) batch.keys.push([`k${i}`, [w.bucketOf(T), 0, 0, 1]]);
    w.merge(batch, T, true, true);
    expect(est.size).toBe(MAX_HOT_KEYS);
    expect(w.size).toBe(MAX_HOT_KEYS + 500); // the cells are all merged: only the estimate is bounded
    est.tick(...at(T + TICK_MS), w.replicaIds, () => 10);
    expect(est.size).toBe(MAX_HOT_KEYS);
    est.tick(...at(T + WINDOW_MS + 2 * TICK_MS), w.replicaIds, () => 10);
    expect(est.size).toBe(0);
  });

  it('near the limit admits only this node’s quota of what is left: w · (left + own) − own', () => {
    const w = lagAwareWindow(0);
    const est = w.estimate as LagEstimate;
    est.tick(...at(T), w.replicaIds, () => 0);
    // Two peers bring 1 hit per ms each, 50 ms late: the cluster could admit far more than what is left.
    w.merge(delta(w, 'k', ['b#1', 'c#1'], [20, 20], T + 5), T + 5, true, true);
    est.tick(...at(T + TICK_MS), w.replicaIds, () => 50);
    w.merge(delta(w, 'k', ['b#1', 'c#1'], [40, 40], T + 25), T + 25, true, true);
    est.tick(...at(T + 2 * TICK_MS), w.replicaIds, () => 50);
    const t = T + 2 * TICK_MS;
    // 80 counted; limit 110 leaves 30: three active nodes, so this node's quota is 10 of them.
    let admitted = 0;
    while (w.decide('k', 1, 110, t, true).allowed) admitted++;
    expect(admitted).toBe(10);
    const d = w.decide('k', 1, 110, t, false);
    expect(d.allowed).toBe(false);
    expect(d.retryAfterMs).toBe(50); // about one replication delay
    // Its own hits age out of `own` over about one delay: the quota comes back without a peer's word.
    at(t + 500);
    expect(w.decide('k', 1, 110, t + 500, true).allowed).toBe(true);
  });

  it('never writes a cell: the same merges and admitted hits give the same cells with it or without', () => {
    const on = lagAwareWindow(0.7);
    const off = new SlidingWindow({ windowMs: WINDOW_MS, buckets: 10, replicaId: 'self#1' });
    const est = on.estimate as LagEstimate;
    let hits = 0;
    for (let i = 0; i < 50; i++) {
      const t = T + i * TICK_MS;
      est.tick(...at(t), on.replicaIds, () => 30);
      for (const w of [on, off]) w.merge(delta(w, 'k', ['b#1', 'c#1'], [3 * (i + 1), 2 * (i + 1)], t), t, true, true);
      // Count on `off` exactly the hits `on` admitted.
      while (on.decide('k', 1, 400, t, true).allowed) {
        off.decide('k', 1, Infinity, t, true);
        hits++;
      }
    }
    expect(hits).toBeGreaterThan(0);
    const t = T + 50 * TICK_MS;
    expect(windowView(on, ['k'], t)).toEqual(windowView(off, ['k'], t));
    expect(on.digest(on.bucketOf(t) - 10, on.bucketOf(t), 4)).toEqual(off.digest(off.bucketOf(t) - 10, off.bucketOf(t), 4));
  });
});
