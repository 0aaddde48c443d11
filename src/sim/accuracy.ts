/**
 * What `runSimulation` needs for its report, and nothing more: the nodes'
 * G-Counter cell sums per bucket against the {@link TruthLog} (never window
 * totals, so weighting and expiry cannot hide a lost or doubled hit), and
 * whether a draining node's cells have reached its peers. The test suite does
 * not trust these: its oracle (`test/helpers/sim-oracle.ts`) checks every
 * replica's cells on its own.
 *
 * @module
 */
import type { Prng } from '../../transport/sim/prng.js';
import type { Limiter } from '../limiter/limiter.js';
import type { TruthLog } from './truth-log.js';

/** A node as the checks see it. */
export interface NodeView {
  readonly id: string;
  readonly limiter: Limiter;
}

/** One (node, key, bucket) whose cell sum differs from the truth. */
export interface Mismatch {
  node: string;
  key: string;
  bucket: number;
  expected: number;
  actual: number;
}

/** Sum of a node's visible cells per bucket for `key`. */
function sums(limiter: Limiter, key: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const c of limiter.replica.cellsOf(key)) out.set(c.bucket, (out.get(c.bucket) ?? 0) + c.count);
  return out;
}

/**
 * Every (node, key, bucket) whose cell sum differs from the truth, up to
 * `max`, for the buckets fully inside each node's window (the edge bucket
 * may already be pruned on one node and not on another).
 */
export function mismatches(truth: TruthLog, nodes: Iterable<NodeView>, max: number): Mismatch[] {
  const out: Mismatch[] = [];
  for (const n of nodes) {
    const cur = n.limiter.replica.currentBucket();
    const keys = new Set([...truth.keys(), ...n.limiter.keys()]);
    for (const key of keys) {
      const actual = sums(n.limiter, key);
      const gen = truth.resetGenOf(key);
      for (let b = cur - n.limiter.buckets + 1; b <= cur + 1; b++) {
        const expected = truth.expected(key, b, gen);
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

/** True when some node holds more than the truth for a bucket of two keys per node drawn from `prng`. */
export function overCounted(truth: TruthLog, nodes: Iterable<NodeView>, keys: string[], prng: Prng): boolean {
  for (const n of nodes) {
    for (let i = 0; i < 2; i++) {
      const key = keys[prng.int(keys.length)];
      const gen = n.limiter.replica.resetGenOf(key);
      for (const [bucket, got] of sums(n.limiter, key)) if (got > truth.expected(key, bucket, gen)) return true;
    }
  }
  return false;
}

/** True when every other node holds every cell `node`'s replica counted (what a drain waits for). */
export function handedOver(node: NodeView, others: NodeView[]): boolean {
  const replica = node.limiter.replicaId;
  for (const key of node.limiter.keys()) {
    for (const c of node.limiter.replica.cellsOf(key)) {
      if (c.replica !== replica) continue;
      for (const o of others) {
        const theirs = o.limiter.replica.cellsOf(key).find((x) => x.bucket === c.bucket && x.replica === replica);
        const hidden = o.limiter.replica.resetGenOf(key) > c.gen;
        if (!hidden && (theirs === undefined || (theirs.gen === c.gen && theirs.count < c.count))) return false;
      }
    }
  }
  return true;
}
