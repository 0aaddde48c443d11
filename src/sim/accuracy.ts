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

/** Sum of a node's visible hits (count − floor) per bucket for `key`; with `counted`, of its counts (hidden hits too). */
function sums(limiter: Limiter, key: string, counted = false): Map<number, number> {
  const out = new Map<number, number>();
  for (const c of limiter.replica.cellsOf(key)) out.set(c.bucket, (out.get(c.bucket) ?? 0) + (counted ? c.count : Math.max(0, c.count - c.floor)));
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
      // Only buckets either side holds something in: the others agree on 0.
      const buckets = new Set([...truth.bucketsOf(key), ...actual.keys()]);
      for (const b of buckets) {
        if (b < cur - n.limiter.buckets + 1 || b > cur + 1) continue;
        const expected = truth.expected(key, b);
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

/** Hits admitted into `bucket` of `key`, by anyone, hidden or not. */
function admittedIn(truth: TruthLog, key: string, bucket: number): number {
  let sum = 0;
  for (const e of truth.hitsIn(key, bucket)) sum += e.hits;
  return sum;
}

/**
 * True when some node counts more than was admitted for a bucket of two keys
 * per node drawn from `prng` (counts, hidden hits included: a node that has
 * not heard of a reset yet shows more than the truth's visible hits, rightly).
 */
export function overCounted(truth: TruthLog, nodes: Iterable<NodeView>, keys: string[], prng: Prng): boolean {
  for (const n of nodes) {
    for (let i = 0; i < 2; i++) {
      const key = keys[prng.int(keys.length)];
      for (const [bucket, got] of sums(n.limiter, key, true)) if (got > admittedIn(truth, key, bucket)) return true;
    }
  }
  return false;
}

/**
 * True when every other node holds every cell `node`'s replica counted, and
 * every floor `node` holds (the resets it issued or learned), in the buckets
 * still live there: what a drain waits for.
 */
export function handedOver(node: NodeView, others: NodeView[]): boolean {
  const replica = node.limiter.replicaId;
  for (const key of node.limiter.keys()) {
    for (const c of node.limiter.replica.cellsOf(key)) {
      if (c.replica !== replica && c.floor === 0) continue;
      for (const o of others) {
        if (c.bucket < o.limiter.replica.currentBucket() - o.limiter.buckets) continue; // expired there
        const theirs = o.limiter.replica.cellsOf(key).find((x) => x.bucket === c.bucket && x.replica === c.replica);
        if (theirs === undefined || theirs.floor < c.floor || (c.replica === replica && theirs.count < c.count)) return false;
      }
    }
  }
  return true;
}
