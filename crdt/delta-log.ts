/**
 * The per-peer outbound log, compacted Raft-style.
 *
 * While a peer is briefly unreachable its deltas collect here. The log keeps
 * only the latest value of each (limiter, key, bucket, replica) cell — the
 * join of everything added — and drops buckets that left the window, so it
 * grows with what changed, not with how often. When it would pass its bound
 * the owner throws it away and sends a snapshot instead (Raft's
 * InstallSnapshot).
 *
 * @module
 */
import { GCounter } from './g-counter.js';
import { CELL_STRIDE, type WindowState } from './window-state.js';

interface KeyLog {
  resetGen: number;
  /** bucket → counter */
  buckets: Map<number, GCounter>;
}

/**
 * A compacting log of window changes for one peer.
 *
 * @example
 * const log = new DeltaLog();
 * log.add('api', delta);      // again and again
 * log.prune('api', minLiveBucket);
 * for (const { limiter, state } of log.drain()) send(limiter, state);
 */
export class DeltaLog {
  #limiters = new Map<string, Map<string, KeyLog>>();
  #cells = 0;

  /** Cells held (the log's size bound is taken in cells). */
  get cells(): number {
    return this.#cells;
  }

  /** True when there is nothing to send. */
  get empty(): boolean {
    return this.#limiters.size === 0;
  }

  /** Joins `state` of `limiter` into the log. */
  add(limiter: string, state: WindowState): void {
    let keys = this.#limiters.get(limiter);
    if (keys === undefined) this.#limiters.set(limiter, (keys = new Map()));
    for (const [key, resetGen, flat] of state.keys) {
      let log = keys.get(key);
      if (log === undefined) keys.set(key, (log = { resetGen: 0, buckets: new Map() }));
      if (resetGen > log.resetGen) log.resetGen = resetGen;
      for (let i = 0; i < flat.length; i += CELL_STRIDE) {
        let counter = log.buckets.get(flat[i]);
        if (counter === undefined) log.buckets.set(flat[i], (counter = new GCounter()));
        const before = counter.cells.size;
        counter.mergeCell(state.replicas[flat[i + 1]], flat[i + 2], flat[i + 3]);
        this.#cells += counter.cells.size - before;
      }
    }
  }

  /** Drops every cell of `limiter` in buckets below `minBucket`. */
  prune(limiter: string, minBucket: number): void {
    const keys = this.#limiters.get(limiter);
    if (keys === undefined) return;
    for (const [key, log] of keys) {
      for (const [bucket, counter] of log.buckets) {
        if (bucket < minBucket) {
          this.#cells -= counter.cells.size;
          log.buckets.delete(bucket);
        }
      }
      // Nothing left to send for this key: forget it, so `empty` stays true to its word.
      if (log.buckets.size === 0 && log.resetGen === 0) keys.delete(key);
    }
    if (keys.size === 0) this.#limiters.delete(limiter);
  }

  /** Empties the log, returning its contents as one state per limiter. */
  drain(): Array<{ limiter: string; state: WindowState }> {
    const out: Array<{ limiter: string; state: WindowState }> = [];
    for (const [limiter, keys] of this.#limiters) {
      const replicas: string[] = [];
      const index = new Map<string, number>();
      const state: WindowState = { replicas, keys: [] };
      for (const [key, log] of keys) {
        const flat: number[] = [];
        for (const [bucket, counter] of log.buckets) {
          for (const [replica, cell] of counter.cells) {
            let r = index.get(replica);
            if (r === undefined) {
              r = replicas.length;
              replicas.push(replica);
              index.set(replica, r);
            }
            flat.push(bucket, r, cell.gen, cell.count);
          }
        }
        if (flat.length > 0 || log.resetGen > 0) state.keys.push([key, log.resetGen, flat]);
      }
      if (state.keys.length > 0) out.push({ limiter, state });
    }
    this.clear();
    return out;
  }

  /** Forgets everything (the peer will get a snapshot instead). */
  clear(): void {
    this.#limiters.clear();
    this.#cells = 0;
  }
}
