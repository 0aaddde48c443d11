/**
 * A tiny deterministic harness for store-level CRDT tests: several
 * SlidingWindow replicas with their own clock skew doing local consumes and
 * resets, and a pool of every message they ever produced (drained deltas and
 * snapshot chunks) that can be delivered to anyone, in any order, any number
 * of times.
 */
import type { CellBatch } from '../../crdt/cell-batch.js';
import { SlidingWindow } from '../../crdt/sliding-window.js';
import { copyState } from './cells.js';
import { createPrng } from '../../transport/sim/prng.js';

/** A seeded PRNG (the project's sfc32), as a bare function. */
export function prng(seed: number): () => number {
  const r = createPrng(seed);
  return () => r.next();
}

/** Fisher–Yates with a seeded PRNG. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export type SimOp =
  | { kind: 'consume'; replica: number; key: string; cost: number; dt: number }
  | { kind: 'reset'; replica: number; key: string; dt: number }
  | { kind: 'drain'; replica: number; dt: number }
  | { kind: 'snapshot'; replica: number; maxKeys: number; dt: number }
  | { kind: 'deliver'; to: number; pick: number; dt: number };

export interface SimConfig {
  windowMs: number;
  buckets: number;
  limit: number;
  /** Per replica: how far its clock runs ahead of the global clock (ms, ≥ 0). */
  skews: number[];
  start: number;
  /**
   * Gossip every replica's delta to every replica right after each reset, as
   * a healthy mesh does within a gossip interval. Otherwise a reset's floors
   * may reach some replicas only after their buckets expired there, which is
   * harmless (the hits they hide have expired too).
   */
  gossipOnReset?: boolean;
}

export class ReplicaSim {
  readonly windows: SlidingWindow[];
  /** Every message ever produced, copied (receivers must not share arrays with senders). */
  readonly pool: CellBatch[] = [];
  readonly keys = new Set<string>();
  /** Global time. */
  now: number;

  constructor(readonly config: SimConfig) {
    this.now = config.start;
    this.windows = config.skews.map(
      (_, i) => new SlidingWindow({ windowMs: config.windowMs, buckets: config.buckets, replicaId: `r${i}#inc${i}` }),
    );
  }

  /** Replica `i`'s local time. */
  timeOf(i: number): number {
    return this.now + this.config.skews[i];
  }

  /** The latest local time of any replica: every replica agrees on what is live then. */
  get horizon(): number {
    return this.now + Math.max(...this.config.skews);
  }

  apply(op: SimOp): void {
    this.now += op.dt;
    switch (op.kind) {
      case 'consume':
        this.keys.add(op.key);
        this.windows[op.replica].decide(op.key, op.cost, this.config.limit, this.timeOf(op.replica), true);
        break;
      case 'reset': {
        this.keys.add(op.key);
        this.windows[op.replica].reset(op.key);
        if (this.config.gossipOnReset) this.gossip();
        break;
      }
      case 'drain': {
        const d = this.windows[op.replica].drainDelta(this.timeOf(op.replica));
        if (d !== null) this.pool.push(copyState(d));
        break;
      }
      case 'snapshot':
        for (const chunk of this.snapshotChunks(op.replica, op.maxKeys)) this.pool.push(chunk);
        break;
      case 'deliver':
        if (this.pool.length > 0) {
          const state = this.pool[op.pick % this.pool.length];
          this.windows[op.to].merge(copyState(state), this.timeOf(op.to));
        }
        break;
    }
  }

  /** A healthy mesh's round: every replica drains, every delta reaches every replica (and joins the pool). */
  gossip(): void {
    const deltas: CellBatch[] = [];
    for (const [i, w] of this.windows.entries()) {
      const d = w.drainDelta(this.timeOf(i));
      if (d !== null) deltas.push(copyState(d));
    }
    for (const [i, w] of this.windows.entries()) for (const d of deltas) w.merge(copyState(d), this.timeOf(i));
    this.pool.push(...deltas);
  }

  /** Every snapshot chunk of replica `i` at its local time. */
  snapshotChunks(i: number, maxKeys: number): CellBatch[] {
    const out: CellBatch[] = [];
    let cursor = 0;
    do {
      const chunk = this.windows[i].snapshot(this.timeOf(i), cursor, maxKeys);
      out.push(copyState(chunk.state));
      cursor = chunk.cursor;
    } while (cursor !== -1);
    return out;
  }

  /**
   * Anti-entropy at `horizon`, as the replicator runs it: every pair compares
   * digests over the live window and swaps the shard states that differ, until
   * no pair differs. Returns the number of rounds that repaired something.
   */
  repairAll(shards = 8, maxRounds = 10): number {
    const t = this.horizon;
    const range = (w: SlidingWindow) => {
      const cur = w.bucketOf(t);
      return w.digest(cur - w.buckets, cur + w.buckets + 10, shards);
    };
    for (let round = 0; round < maxRounds; round++) {
      let repaired = false;
      for (const a of this.windows) {
        for (const b of this.windows) {
          if (a === b) continue;
          const da = range(a);
          const db = range(b);
          const wanted = new Set(da.flatMap((h, s) => (h === db[s] ? [] : [s])));
          if (wanted.size === 0) continue;
          repaired = true;
          const fromA = copyState(a.shardState(shards, wanted, t));
          const fromB = copyState(b.shardState(shards, wanted, t));
          b.merge(fromA, t);
          a.merge(fromB, t);
        }
      }
      if (!repaired) return round;
    }
    return maxRounds;
  }

  /** Drains every replica, then delivers the whole pool to every replica in a seeded random order, at `horizon`. */
  exchangeAll(seed: number): void {
    const t = this.horizon;
    for (const w of this.windows) {
      const d = w.drainDelta(t);
      if (d !== null) this.pool.push(copyState(d));
    }
    const random = prng(seed);
    for (const w of this.windows) {
      for (const state of shuffled(this.pool, random)) w.merge(copyState(state), t);
    }
  }
}
