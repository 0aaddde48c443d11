/**
 * The partition share of a key (docs/accuracy.md, Partition policy): what a
 * node that lost contact with some member may still admit for a key on its
 * own. It never changes a cell; it only reads them.
 *
 * A node that lost contact in bucket `b0` (the *share bucket*) with weight
 * `w` (its share of the members, `1/N`) admits a hit of cost `c` at `t` only
 * while its own hits since `b0` fit in its share of the budget the window
 * had left when it lost contact:
 *
 *     post(t) + c ≤ w · (L − pre(t))
 *
 * where, over the buckets `b` of the window at `t` with their weights `ω_b`
 * (1, or `1 − f` for the edge bucket, as in the count):
 *
 *     pre(t)  = Σ_{b < b0} ω_b·c_b  +  ω_{b0}·(c_{b0} − own_{b0})
 *     post(t) = Σ_{b ≥ b0} ω_b·own_b
 *
 * `c_b` is every replica's visible hits of bucket `b` that this node knows,
 * `own_b` its own. Every replica's hits of the share bucket count as
 * already spent (they may predate the loss); the node's own hits of it
 * count against its share. Rearranged, it is a sliding count of per-bucket
 * sums `e_b` against `w·L`:
 *
 *     Σ ω_b·e_b + c ≤ w·L,   e_b = own_b            (b > b0)
 *                                 own_b + w·(c_b − own_b)  (b = b0)
 *                                 w·c_b             (b < b0)
 *
 * so the same window math answers the decision, `remaining` and
 * `retryAfterMs`. As old buckets slide out, `pre` falls and the share
 * grows; once `b0` has left the window the share is simply `w·L` of the
 * node's own hits per window. Summed over nodes whose views agreed when
 * they lost contact, the shares admit at most `L − pre` after it: the
 * window never holds more than `L` plus what was admitted before the loss
 * was detected.
 *
 * @module
 */
import { SELF } from './replica-registry.js';
import { NO_CELL, type WindowArena } from './window-arena.js';

/**
 * Fills `per[i]` with the share sum `e_b` of bucket `b = cur − i`, for
 * `i = 0 .. per.length − 1` (cells ahead of `cur` fold into `per[0]`, as in
 * `WindowArena.bucketSums`), for share bucket `fromBucket` and weight
 * `weight`. Visible hits only (`count − floor`).
 *
 * @example
 * shareSums(arena, slot, cur, cur - 3, 1 / 3, per);
 * countAhead(per, cur, t, windowMs, buckets) + cost <= limit / 3; // the share decision
 */
export function shareSums(arena: WindowArena, slot: number, cur: number, fromBucket: number, weight: number, per: Float64Array): void {
  const last = per.length - 1;
  per.fill(0);
  for (let e = arena.firstCell(slot); e !== NO_CELL; e = arena.nextCell(e)) {
    const bucket = arena.cellBucket(e);
    const i = cur - bucket;
    if (i > last) break;
    const visible = arena.cellCount(e) - arena.cellFloor(e);
    const own = arena.cellReplica(e) === SELF;
    // Own hits from the share bucket on are the node's own spending; everything before it, and
    // other replicas' hits of the share bucket itself, is the budget spent before the loss.
    per[i < 0 ? 0 : i] += own && bucket >= fromBucket ? visible : bucket <= fromBucket ? weight * visible : 0;
  }
}
