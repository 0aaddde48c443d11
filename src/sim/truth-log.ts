/**
 * The simulator's truth: its own log of every admitted hit (key, bucket,
 * reset generation seen by the admitting node, cost, true time) and of every
 * reset, and the checks that compare nodes against it. The checks read the
 * nodes' G-Counter cell sums per bucket, never window totals, so weighting and
 * expiry cannot hide a lost or doubled hit.
 *
 * @module
 */
import type { Prng } from '../../transport/sim/prng.js';
import type { Limiter } from '../limiter/limiter.js';

interface NodeView {
  id: string;
  limiter: Limiter;
}

/** Sum of a node's visible cells per bucket for `key`. */
function sums(limiter: Limiter, key: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const c of limiter.cellsOf(key)) out.set(c.bucket, (out.get(c.bucket) ?? 0) + c.count);
  return out;
}

/** The load generator's log and the checks against it. */
export class TruthLog {
  /** key → bucket → gen → hits */
  #hits = new Map<string, Map<number, Map<number, number>>>();
  /** key → newest reset generation issued anywhere */
  #resets = new Map<string, number>();
  /** key → [true time, cost] in admission order */
  #admissions = new Map<string, Array<[number, number]>>();

  constructor(
    readonly windowMs: number,
    readonly limit: number,
  ) {}

  /** Records an admitted hit. */
  admit(key: string, bucket: number, gen: number, cost: number, at: number): void {
    let buckets = this.#hits.get(key);
    if (buckets === undefined) this.#hits.set(key, (buckets = new Map()));
    let gens = buckets.get(bucket);
    if (gens === undefined) buckets.set(bucket, (gens = new Map()));
    gens.set(gen, (gens.get(gen) ?? 0) + cost);
    let list = this.#admissions.get(key);
    if (list === undefined) this.#admissions.set(key, (list = []));
    list.push([at, cost]);
  }

  /** Records a reset issued with generation `gen`. */
  reset(key: string, gen: number): void {
    if (gen > (this.#resets.get(key) ?? 0)) this.#resets.set(key, gen);
  }

  /** Hits of `key` in `bucket` that a reset generation `gen` leaves visible. */
  expected(key: string, bucket: number, gen: number): number {
    let sum = 0;
    for (const [g, n] of this.#hits.get(key)?.get(bucket) ?? []) if (g >= gen) sum += n;
    return sum;
  }

  /**
   * Every (node, key, bucket) whose cell sum differs from the truth, for the
   * buckets fully inside each node's window (the edge bucket may already be
   * pruned on one node and not on another).
   */
  mismatches(nodes: Iterable<NodeView>, max: number): Array<{ node: string; key: string; bucket: number; expected: number; actual: number }> {
    const out = [];
    for (const n of nodes) {
      const cur = n.limiter.currentBucket();
      const keys = new Set([...this.#hits.keys(), ...n.limiter.keys()]);
      for (const key of keys) {
        const actual = sums(n.limiter, key);
        const gen = this.#resets.get(key) ?? 0;
        for (let b = cur - n.limiter.buckets + 1; b <= cur + 1; b++) {
          const expected = this.expected(key, b, gen);
          const got = actual.get(b) ?? 0;
          if (expected !== got) {
            out.push({ node: n.id, key, bucket: b, expected, actual: got });
            if (out.length >= max) return out;
          }
        }
      }
    }
    return out;
  }

  /** True when some node holds more than the truth for a bucket of a few sampled keys. */
  overCounted(nodes: Iterable<NodeView>, keys: string[], prng: Prng): boolean {
    for (const n of nodes) {
      for (let i = 0; i < 2; i++) {
        const key = keys[prng.int(keys.length)];
        const gen = n.limiter.resetGenOf(key);
        for (const [bucket, got] of sums(n.limiter, key)) if (got > this.expected(key, bucket, gen)) return true;
      }
    }
    return false;
  }

  /** True when every other node holds every cell `node`'s replica counted. */
  handedOver(node: NodeView, others: NodeView[]): boolean {
    const replica = node.limiter.replicaId;
    for (const key of node.limiter.keys()) {
      for (const c of node.limiter.cellsOf(key)) {
        if (c.replica !== replica) continue;
        for (const o of others) {
          const theirs = o.limiter.cellsOf(key).find((x) => x.bucket === c.bucket && x.replica === replica);
          const hidden = o.limiter.resetGenOf(key) > c.gen;
          if (!hidden && (theirs === undefined || (theirs.gen === c.gen && theirs.count < c.count))) return false;
        }
      }
    }
    return true;
  }

  /** Most admitted in any window of windowMs (true time) for one key, divided by the limit. */
  maxAdmittedRatio(): number {
    let best = 0;
    for (const list of this.#admissions.values()) {
      let lo = 0;
      let sum = 0;
      for (let hi = 0; hi < list.length; hi++) {
        sum += list[hi][1];
        while (list[hi][0] - list[lo][0] >= this.windowMs) sum -= list[lo++][1];
        if (sum > best) best = sum;
      }
    }
    return best / this.limit;
  }
}
