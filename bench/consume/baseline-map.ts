/**
 * The floor for the consume benchmark: the least a sliding-window counter can
 * do per decision in JavaScript. A bare `Map<string, Entry>`, one ring of
 * per-bucket counts per key, the same bucket count as tallymesh's default and
 * the same previous-bucket weighting, but no replication, no HLC, no decision
 * object, no validation. tallymesh is expected to reach half its speed.
 *
 * Window at time t (bucket width g, B buckets, current bucket c = floor(t/g)):
 *   count = sum(buckets c-B+1 .. c) + bucket(c-B) * (1 - (t - c*g) / g)
 * i.e. the bucket leaving the window is weighted by the fraction of it still
 * inside, the classic sliding-window counter.
 */

/** Options of {@link BaselineMapLimiter}; `buckets` defaults like tallymesh's. */
export interface BaselineMapOptions {
  limit: number;
  windowMs: number;
  buckets?: number;
}

interface Entry {
  /** Ring of B+1 counts: the B buckets in the window plus the one leaving it. */
  counts: number[];
  /** Newest bucket id the ring has been advanced to. */
  last: number;
  /** Sum of the B newest buckets (c-B+1 .. c); kept to avoid summing the ring per call. */
  total: number;
}

/** tallymesh's default: one bucket per second of window, clamped to [10, 600]. */
export function defaultBuckets(windowMs: number): number {
  return Math.min(600, Math.max(10, Math.round(windowMs / 1000)));
}

/** Plain in-memory sliding-window counter used only as a benchmark floor. */
export class BaselineMapLimiter {
  readonly #limit: number;
  readonly #buckets: number;
  readonly #ring: number;
  readonly #width: number;
  readonly #entries = new Map<string, Entry>();

  constructor(options: BaselineMapOptions) {
    this.#limit = options.limit;
    this.#buckets = options.buckets ?? defaultBuckets(options.windowMs);
    this.#ring = this.#buckets + 1;
    this.#width = options.windowMs / this.#buckets;
  }

  /** Admits `cost` hits for `key` if the window has room; returns whether it did. */
  consume(key: string, cost = 1, now: number = Date.now()): boolean {
    const B = this.#buckets;
    const R = this.#ring;
    let c = Math.floor(now / this.#width);
    let e = this.#entries.get(key);
    if (e === undefined) {
      // Array.from gives a packed SMI array; new Array(R).fill(0) would stay "holey" and slower.
      e = { counts: Array.from({ length: R }, () => 0), last: c, total: 0 };
      this.#entries.set(key, e);
    } else if (c > e.last) {
      if (c - e.last >= R) {
        // Every bucket held is older than c-B: nothing is left in the window.
        e.counts.fill(0);
        e.total = 0;
      } else {
        for (let b = e.last + 1; b <= c; b++) {
          e.total -= e.counts[(b - B) % R]; // leaves the full window, stays as the weighted one
          e.counts[b % R] = 0; // slot of bucket b-B-1, now entirely outside
        }
      }
      e.last = c;
    } else if (c < e.last) {
      c = e.last; // the clock stepped back: count into the newest bucket rather than a recycled slot
    }
    const inside = Math.min(1, 1 - (now - c * this.#width) / this.#width);
    const count = e.total + e.counts[(c - B) % R] * inside;
    if (count + cost > this.#limit) return false;
    e.counts[c % R] += cost;
    e.total += cost;
    return true;
  }

  /** Number of keys held; lets callers keep the instance observably alive. */
  get size(): number {
    return this.#entries.size;
  }
}
