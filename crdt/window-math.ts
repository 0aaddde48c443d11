/**
 * The window math of docs/window-math.md as pure functions of numbers: which
 * bucket a time falls in, how much of the edge bucket still counts, and when
 * a key's hits have left the window (`resetMs`) or a request will fit again
 * (`retryAfterMs`). No state and no arena: the sliding window feeds them the
 * sums it keeps, and the tests check them against the formulas directly.
 *
 * Notation as in the doc: `W` = windowMs, `B` = buckets, `g = W / B` the
 * bucket width, `cur = bucket(t)` and `f` how far `t` is into `cur`:
 *
 *     count(t) = Σ_{b = cur−B+1 .. cur} c_b  +  (1 − f) · c_{cur−B}
 *
 * Times are integer ms; every expression is arranged so that its numerator
 * is an exact integer (see {@link bucketOf}).
 *
 * These functions sit on the decision path: keep them small, allocation-free
 * and monomorphic (numbers and one Float64Array), so V8 inlines them.
 *
 * @module
 */

/**
 * Bucket id of wall time `t`: `floor(t / g)`, computed as `floor(t·B / W)`.
 * For integer `t` (with `t·B < 2^53`) the numerator is exact and so is the
 * result; `t / g` with a width like 10000/7 rounds, and would put the first
 * millisecond of some buckets (20 000 here) into the bucket before.
 *
 * @example
 * bucketOf(20_000, 10_000, 7); // 14 (20 000 / (10 000 / 7) would give 13.999…)
 */
export function bucketOf(t: number, windowMs: number, buckets: number): number {
  return Math.floor((t * buckets) / windowMs);
}

/**
 * Weight `1 − f` of the edge bucket at `t` in bucket `cur`: the fraction of
 * bucket `cur − B` still inside the window, `((cur+1)·W − t·B) / W`. The
 * numerator is an exact integer for integer `t`; `(t − cur·g) / g` loses
 * digits at epoch-sized `t`.
 *
 * @example
 * edgeWeight(2_500, 2, 10_000, 10); // 0.5: half of bucket −8 is still inside
 */
export function edgeWeight(t: number, cur: number, windowMs: number, buckets: number): number {
  return ((cur + 1) * windowMs - t * buckets) / windowMs;
}

/**
 * Ms from `t` until bucket `newest` (the newest one holding a visible hit)
 * has left the window: its last hit leaves at the first ms of bucket
 * `newest + 1 + B`, which is `ceil((newest + 1 + B)·W / B)` — exact with
 * integers, unlike `(newest + 1 + B)·g`. Never negative.
 *
 * @example
 * resetMs(0, 500, 1_000, 10); // 600: bucket 0's hits leave at ms 1 100
 */
export function resetMs(newest: number, t: number, windowMs: number, buckets: number): number {
  const ms = Math.ceil(((newest + 1 + buckets) * windowMs) / buckets - t);
  return ms > 0 ? ms : 0;
}

/**
 * The window count at `t` (in bucket `cur` or later) if no hit is added after
 * `cur`, from `per[i]`, the visible hits of bucket `cur − i` (`i = 0 .. B`,
 * hits ahead of `cur` folded into `per[0]`): `full + edge · edgeWeight`, the
 * same float expression a decision evaluates (the arena's `countAt`), so the
 * two agree to the last bit.
 *
 * @example
 * // B = 2, W = 1 000, cur = 5: 3 hits in bucket 5, 1 in bucket 4, 2 in bucket 3
 * countAhead(Float64Array.of(3, 1, 2), 5, 2_750, 1_000, 2); // 5 = 4 + 2 · 0.5
 */
export function countAhead(per: Float64Array, cur: number, t: number, windowMs: number, buckets: number): number {
  const at = bucketOf(t, windowMs, buckets);
  const j = at - cur;
  let inner = 0;
  for (let i = 0; i <= buckets - 1 - j; i++) inner += per[i];
  const edge = j >= 0 && j <= buckets ? per[buckets - j] : 0;
  return inner + edge * edgeWeight(t, at, windowMs, buckets);
}

/**
 * The least `r ≥ 1` such that, if no hit is added meanwhile, the window count
 * at `t + r` is at most `target` (`limit − cost`): a request denied at `t` is
 * admitted at `t + r` and would be denied at `t + r − 1`. `per` is as for
 * {@link countAhead}; `target ≥ 0` (a cost above the limit never fits, and
 * the caller answers Infinity without asking).
 *
 * After `j` more bucket boundaries the window holds `inner_j` full buckets
 * plus the edge bucket `cur + j − B`, whose weight falls linearly across
 * bucket `cur + j`. The closed form finds the first `j` with
 * `inner_j ≤ target` and solves `inner_j + (1 − f)·c_edge ≤ target` for `f`;
 * it rounds, so the last millisecond is settled with {@link countAhead}.
 *
 * @example
 * // B = 2, W = 1 000, limit 5, cost 1, at the start of bucket 5: 3 hits in bucket 5, 2 in bucket 4
 * retryAfterMs(Float64Array.of(3, 2, 0), 5, 2_500, 1_000, 2, 5 - 1); // 750: bucket 4 is then half out
 */
export function retryAfterMs(per: Float64Array, cur: number, t: number, windowMs: number, buckets: number, target: number): number {
  const B = buckets;
  const g = windowMs / buckets;
  let inner = 0;
  for (let i = 0; i < B; i++) inner += per[i];
  for (let j = 0; j <= B; j++) {
    const edge = per[B - j];
    if (inner <= target) {
      const need = edge > 0 ? 1 - (target - inner) / edge : 0;
      const at = Math.max((cur + j) * g + Math.max(need, 0) * g, t);
      let r = Math.max(1, Math.ceil(at - t));
      // The closed form rounds; settle the last millisecond with the very
      // predicate a decision uses (the count only falls as time passes), so
      // the request is admitted at t + r and not at t + r − 1.
      while (r > 1 && countAhead(per, cur, t + r - 1, windowMs, buckets) <= target) r--;
      while (countAhead(per, cur, t + r, windowMs, buckets) > target) r++;
      return r;
    }
    if (j < B) inner -= per[B - 1 - j];
  }
  return Math.ceil((cur + B + 1) * g - t);
}
