/**
 * The per-peer outbound log, compacted Raft-style.
 *
 * While a peer is briefly unreachable its deltas collect here. The log keeps
 * only the latest value of each (limiter, key, bucket, replica) cell — the
 * join of everything added — and drops buckets that left the window, so it
 * grows with what changed, not with how often. It also keeps each limiter's
 * limit register, joined last-writer-wins, so a runtime limit change made
 * while the peer was unreachable goes out with the catch-up (issue 10,
 * defect 10). When it would pass its bound the owner throws it away and sends
 * a snapshot instead (Raft's InstallSnapshot).
 *
 * @module
 */
import {
  BATCH_CELL_BUCKET,
  BATCH_CELL_COUNT,
  BATCH_CELL_FLOOR,
  BATCH_CELL_REPLICA,
  BATCH_CELL_STRIDE,
  type CellBatch,
} from './cell-batch.js';
import { mergeLww, type LwwRegister } from './lww.js';
import { ObservedRemoveCounter } from './observed-remove-counter.js';

interface KeyLog {
  /** bucket → counter (a reset is in its cells' floors, so it is pruned with them) */
  buckets: Map<number, ObservedRemoveCounter>;
}

/** What {@link DeltaLog.drain} returns per limiter: its cells, and its newest limit register (null when none was added). */
export interface DeltaLogEntry {
  limiter: string;
  state: CellBatch;
  limit: LwwRegister<number> | null;
}

/**
 * A compacting log of window changes for one peer.
 *
 * @example
 * const log = new DeltaLog();
 * log.add('api', delta);      // again and again
 * log.addLimit('api', { ts, replica: 'a#1', value: 5 });
 * log.prune('api', minLiveBucket);
 * for (const { limiter, state, limit } of log.drain()) send(limiter, state, limit);
 */
export class DeltaLog {
  #limiters = new Map<string, Map<string, KeyLog>>();
  /**
   * Limit register per limiter: the LWW join of every register added. One
   * per limiter, so not counted in {@link cells}; never pruned (a register
   * does not expire with buckets).
   */
  #limits = new Map<string, LwwRegister<number>>();
  #cells = 0;

  /** Cells held (the log's size bound is taken in cells). */
  get cells(): number {
    return this.#cells;
  }

  /** True when there is nothing to send. */
  get empty(): boolean {
    return this.#limiters.size === 0 && this.#limits.size === 0;
  }

  /** Joins a limit register of `limiter` into the log: the later one is kept (ties by replica id). */
  addLimit(limiter: string, register: LwwRegister<number>): void {
    this.#limits.set(limiter, mergeLww(this.#limits.get(limiter) ?? null, register) as LwwRegister<number>);
  }

  /** Joins `state` of `limiter` into the log. */
  add(limiter: string, state: CellBatch): void {
    let keys = this.#limiters.get(limiter);
    if (keys === undefined) this.#limiters.set(limiter, (keys = new Map()));
    for (const [key, flat] of state.keys) {
      let log = keys.get(key);
      if (log === undefined) keys.set(key, (log = { buckets: new Map() }));
      for (let i = 0; i < flat.length; i += BATCH_CELL_STRIDE) {
        const bucket = flat[i + BATCH_CELL_BUCKET];
        let counter = log.buckets.get(bucket);
        if (counter === undefined) log.buckets.set(bucket, (counter = new ObservedRemoveCounter()));
        const before = counter.cells.size;
        counter.mergeCell(state.replicas[flat[i + BATCH_CELL_REPLICA]], flat[i + BATCH_CELL_COUNT], flat[i + BATCH_CELL_FLOOR]);
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
      if (log.buckets.size === 0) keys.delete(key);
    }
    if (keys.size === 0) this.#limiters.delete(limiter);
  }

  /**
   * Empties the log, returning its contents as one entry per limiter: its
   * cells (possibly none) and its limit register (possibly null), never both
   * empty.
   */
  drain(): DeltaLogEntry[] {
    const out: DeltaLogEntry[] = [];
    for (const [limiter, keys] of this.#limiters) {
      const replicas: string[] = [];
      const index = new Map<string, number>();
      const state: CellBatch = { replicas, keys: [] };
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
            flat.push(bucket, r, cell.floor, cell.count); // the BATCH_CELL_* order
          }
        }
        if (flat.length > 0) state.keys.push([key, flat]);
      }
      const limit = this.#limits.get(limiter) ?? null;
      if (state.keys.length > 0 || limit !== null) out.push({ limiter, state, limit });
    }
    // A register whose limiter has no cells: an entry of its own.
    for (const [limiter, limit] of this.#limits) {
      if (!this.#limiters.has(limiter)) out.push({ limiter, state: { replicas: [], keys: [] }, limit });
    }
    this.clear();
    return out;
  }

  /** Forgets everything (the peer will get a snapshot instead). */
  clear(): void {
    this.#limiters.clear();
    this.#limits.clear();
    this.#cells = 0;
  }
}
