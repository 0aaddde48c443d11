/**
 * The sliding window of one limiter: the CRDT cells of `window-cells.ts`
 * (stored in the typed arrays of `window-arena.ts`) plus the decisions taken
 * on them with the pure math of `window-math.ts`.
 *
 * Window math (see docs/window-math.md): bucket width `g = windowMs / buckets`,
 * bucket id `floor(t / g)` of the HLC wall time `t`, `cur` the current bucket
 * and `f = (t - cur·g) / g` how far into it we are. The window count is
 *
 *     count(t) = Σ_{b = cur-B+1 .. cur} c_b  +  (1 − f) · c_{cur−B}
 *
 * where `c_b` sums the visible cells of bucket `b`: the bucket leaving the
 * window is weighted by the fraction of it still inside. Cells from buckets
 * ahead of `cur` (a peer's clock slightly ahead) count in full. The arena
 * keeps both sums per key, so a decision on a known key is a Map lookup, a
 * comparison of the cached bucket and a few float operations.
 *
 * The store is pure: time is an argument of every method, and it never
 * schedules anything.
 *
 * @module
 */
import { WindowCells, type WindowCellsOptions } from './window-cells.js';
import { bucketOf, countAhead, edgeWeight, resetMs, retryAfterMs } from './window-math.js';
import { shareSums } from './window-share.js';
import type { HotKey, LagEstimate } from './lag-estimate.js';

/** A rate-limit decision. */
export interface Decision {
  /** Whether the request is admitted (and, for consume, counted). */
  allowed: boolean;
  /** The limit in force. */
  limit: number;
  /** Whole requests of cost 1 still admissible in the window now. */
  remaining: number;
  /** Ms until every hit counted now has left the window (the full limit is back). */
  resetMs: number;
  /** When denied: ms until a request of the same cost would be admitted (0 when allowed; Infinity when cost > limit). */
  retryAfterMs: number;
}

/** Options of {@link SlidingWindow}. */
export type SlidingWindowOptions = WindowCellsOptions;

/**
 * Per-key sliding-window counters of one limiter: its replicated cells and
 * the admission decisions on them.
 *
 * @example
 * const w = new SlidingWindow({ windowMs: 60_000, buckets: 60, replicaId: 'a#1' });
 * w.decide('user:42', 1, 100, Date.now(), true).allowed; // true: admitted and counted
 */
export class SlidingWindow extends WindowCells {
  /** Per-bucket sums for {@link retryAfterMs}: index i is bucket cur − i, for i = 0 .. B. */
  #scratch: Float64Array;

  constructor(options: SlidingWindowOptions) {
    super(options);
    this.#scratch = new Float64Array(this.buckets + 1);
  }

  /** The weighted window count of `key` at time `t`. */
  count(key: string, t: number): number {
    const slot = this.arena.slotOf(key);
    if (slot === undefined) return 0;
    const cur = bucketOf(t, this.windowMs, this.buckets);
    return this.arena.countAt(slot, cur, edgeWeight(t, cur, this.windowMs, this.buckets));
  }

  /**
   * Decides whether `cost` more hits fit under `limit` at time `t` and, when
   * they do and `commit` is true, counts them in this replica's cell.
   * A denied request is never counted.
   */
  decide(key: string, cost: number, limit: number, t: number, commit: boolean): Decision {
    const a = this.arena;
    const cur = bucketOf(t, this.windowMs, this.buckets);
    let slot = a.slotOf(key);
    let count = 0;
    // Hits not in the cells that a hot key's decision counts too: its pre-fill (lag-estimate.ts).
    let extra = 0;
    let hot: HotKey | undefined;
    if (slot !== undefined) {
      count = a.countAt(slot, cur, edgeWeight(t, cur, this.windowMs, this.buckets));
      // A key peers count too may be hot (one field test while none is).
      const est = this.estimate;
      if (est !== null && est.size !== 0 && (hot = est.hotOf(slot, key)) !== undefined) {
        const denied = this.#quota(est, hot, slot, count, cost, limit, t, commit);
        if (denied !== null) return denied;
        extra = hot.prefill;
      }
    }
    if (count + extra + cost <= limit) {
      if (commit) {
        if (slot === undefined) {
          // Each new key pays for sweeping two slots, so expired keys are
          // reclaimed at the rate new ones arrive: memory tracks live keys.
          this.sweep(t, 2);
          slot = a.newSlot(key, cur);
        }
        this.addLocal(slot, cur, cost);
        count += cost;
        if (hot !== undefined) (this.estimate as LagEstimate).addOwn(hot, cost);
      }
      const remaining = Math.floor(limit - count - extra);
      return {
        allowed: true,
        limit,
        remaining: remaining > 0 ? remaining : 0,
        resetMs: slot === undefined ? 0 : this.#resetMs(slot, t),
        retryAfterMs: 0,
      };
    }
    if (cost > limit || slot === undefined) {
      // Never admissible, whatever slides out (callers validate cost ≤ limit;
      // an empty key admits any such cost, so this is the only way here
      // without a slot).
      return {
        allowed: false,
        limit,
        remaining: Math.max(0, Math.floor(limit - count - extra)),
        resetMs: slot === undefined ? 0 : this.#resetMs(slot, t),
        retryAfterMs: Infinity,
      };
    }
    const remaining = Math.floor(limit - count - extra);
    return {
      allowed: false,
      limit,
      remaining: remaining > 0 ? remaining : 0,
      resetMs: this.#resetMs(slot, t),
      retryAfterMs: this.#retryAfter(slot, cur, t, Math.max(0, limit - cost - extra)),
    };
  }

  /**
   * The quota of a hot key near its limit (see `lag-estimate.ts`): counts the
   * demand, and returns the denial when `cost` does not fit this node's part
   * of what is left, `w · (left + own) − own`; null when the count decides.
   */
  #quota(est: LagEstimate, hot: HotKey, slot: number, count: number, cost: number, limit: number, t: number, commit: boolean): Decision | null {
    if (commit) hot.demand += cost;
    if (!est.quota) return null;
    const left = limit - count - hot.prefill;
    if (left >= hot.near || cost > left) return null;
    const own = est.ownRecent(hot);
    const quota = hot.weight * (left + own) - own;
    if (cost <= quota) return null;
    return { allowed: false, limit, remaining: quota > 0 ? Math.floor(quota) : 0, resetMs: this.#resetMs(slot, t), retryAfterMs: est.retryMs(hot) };
  }

  /**
   * {@link decide} for a node that lost contact with some member: the hit
   * must fit the window count (as in `decide`) and the node's share, `weight`
   * of the budget left in share bucket `fromBucket` (see `window-share.ts`).
   * `remaining` and `retryAfterMs` answer for both.
   */
  decideShare(key: string, cost: number, limit: number, t: number, commit: boolean, fromBucket: number, weight: number): Decision {
    const a = this.arena;
    const cur = bucketOf(t, this.windowMs, this.buckets);
    const slot = a.slotOf(key);
    const budget = weight * limit;
    let share = 0;
    const per = this.#scratch;
    if (slot !== undefined) {
      shareSums(a, slot, cur, fromBucket, weight, per);
      share = countAhead(per, cur, t, this.windowMs, this.buckets);
    }
    if (share + cost <= budget || cost > limit) {
      const d = this.decide(key, cost, limit, t, commit);
      if (d.allowed) {
        const left = Math.floor(budget - share - (commit ? cost : 0));
        if (left < d.remaining) d.remaining = left > 0 ? left : 0;
      }
      return d;
    }
    // Denied by the share (the window count may have room): the share fits again once enough of
    // this node's own hits, and of the budget spent before the loss, have slid out.
    const d = this.decide(key, cost, limit, t, false);
    // A cost above the whole share never fits while the share lasts: ask again after a window.
    const shareRetry = slot === undefined ? Math.ceil(this.windowMs) : retryAfterMs(per, cur, t, this.windowMs, this.buckets, budget - cost);
    const left = Math.floor(budget - share);
    return {
      allowed: false,
      limit,
      remaining: Math.max(0, Math.min(d.remaining, left)),
      resetMs: d.resetMs,
      retryAfterMs: Math.max(d.retryAfterMs, shareRetry),
    };
  }

  /**
   * The largest window count at `t` among at most `maxSlots` slots from
   * `cursor` (free slots included in the tally, skipped), and where to go on
   * from (0 once past the last slot): a paced walk over every key, for the
   * accuracy estimate. Reading a count brings its slot's cached sums to `t`,
   * as any decision on the key would.
   */
  peakCount(t: number, cursor: number, maxSlots: number): { peak: number; cursor: number } {
    const a = this.arena;
    const cur = bucketOf(t, this.windowMs, this.buckets);
    const w = edgeWeight(t, cur, this.windowMs, this.buckets);
    const end = Math.min(a.slotTop, cursor + maxSlots);
    let peak = 0;
    for (let slot = cursor; slot < end; slot++) {
      if (a.keyAt(slot) === undefined) continue;
      const n = a.countAt(slot, cur, w);
      if (n > peak) peak = n;
    }
    return { peak, cursor: end >= a.slotTop ? 0 : end };
  }

  /** Ms until `target` (limit − cost) fits again, if no hit is added: see {@link retryAfterMs}. */
  #retryAfter(slot: number, cur: number, t: number, target: number): number {
    const per = this.#scratch;
    this.arena.bucketSums(slot, cur, per);
    return retryAfterMs(per, cur, t, this.windowMs, this.buckets, target);
  }

  /** Ms until the newest counted bucket of `slot` has slid out of the window entirely. */
  #resetMs(slot: number, t: number): number {
    const newest = this.arena.newestBucket(slot);
    return newest === -Infinity ? 0 : resetMs(newest, t, this.windowMs, this.buckets);
  }
}
