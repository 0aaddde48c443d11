/**
 * A brute-force model of one key of a single-node sliding window: the log of
 * every admitted hit with its time, and exact bucket arithmetic. It is the
 * truth the window math is checked against (docs/window-math.md).
 *
 * Bucket ids are computed in integers (`floor(t·B / W)` for integer `t`), so
 * "aligned bucket" here means the real-number boundaries `b·W/B`, not
 * whatever a floating-point division happens to round to.
 */

/** One admitted request. */
export interface Hit {
  t: number;
  cost: number;
}

/** The window a model describes. */
export interface WindowShape {
  windowMs: number;
  buckets: number;
}

/** Exact `floor(t·B / W)` for integer `t ≥ 0` with `t·B < 2^53`. */
export function exactBucketOf(shape: WindowShape, t: number): number {
  const x = t * shape.buckets;
  if (!Number.isSafeInteger(x) || t < 0) throw new RangeError(`model time out of range: ${t}`);
  return (x - (x % shape.windowMs)) / shape.windowMs;
}

/** Exact fraction `f = t/g − bucket(t)` as a float (one rounding). */
export function exactFraction(shape: WindowShape, t: number): number {
  const cur = exactBucketOf(shape, t);
  return (t * shape.buckets - cur * shape.windowMs) / shape.windowMs;
}

/**
 * The log of one key. `epochs` holds one hit list per reset generation: a
 * reset hides every earlier hit, so every guarantee is stated per epoch.
 */
export class WindowModel {
  readonly epochs: Hit[][] = [[]];

  constructor(readonly shape: WindowShape, readonly limit: number) {}

  /** Hits of the current epoch (the ones the window may count). */
  get hits(): Hit[] {
    return this.epochs[this.epochs.length - 1];
  }

  record(t: number, cost: number): void {
    this.hits.push({ t, cost });
  }

  reset(): void {
    this.epochs.push([]);
  }

  bucketOf(t: number): number {
    return exactBucketOf(this.shape, t);
  }

  /** Hits (cost units) of the current epoch with `from ≤ t ≤ to`. */
  between(from: number, to: number): number {
    let n = 0;
    for (const h of this.hits) if (h.t >= from && h.t <= to) n += h.cost;
    return n;
  }

  /** Hits of the current epoch in bucket `b`. */
  inBucket(b: number): number {
    let n = 0;
    for (const h of this.hits) if (this.bucketOf(h.t) === b) n += h.cost;
    return n;
  }

  /** Hits of the current epoch in buckets `lo..hi`. */
  inBuckets(lo: number, hi: number): number {
    let n = 0;
    for (const h of this.hits) {
      const b = this.bucketOf(h.t);
      if (b >= lo && b <= hi) n += h.cost;
    }
    return n;
  }

  /**
   * What the window formula says at `t`, computed from the log:
   * Σ_{b=cur−B+1..cur} c_b + (1−f)·c_{cur−B}, plus the parts the bound uses.
   */
  estimate(t: number): { estimate: number; edgeHits: number; f: number; truth: number } {
    const { buckets: B, windowMs: W } = this.shape;
    const cur = this.bucketOf(t);
    const f = exactFraction(this.shape, t);
    const full = this.inBuckets(cur - B + 1, cur);
    const edgeHits = this.inBucket(cur - B);
    return { estimate: full + (1 - f) * edgeHits, edgeHits, f, truth: this.between(t - W, t) };
  }

  /**
   * Guarantee (a): the largest number of hits in any span of B consecutive
   * aligned buckets, over every epoch. It suffices to check spans that start
   * at a bucket holding a hit: any span's hits lie in the span starting at its
   * first hit's bucket.
   */
  maxAlignedSpan(): number {
    const B = this.shape.buckets;
    let max = 0;
    for (const hits of this.epochs) {
      const perBucket = new Map<number, number>();
      for (const h of hits) {
        const b = this.bucketOf(h.t);
        perBucket.set(b, (perBucket.get(b) ?? 0) + h.cost);
      }
      const ids = [...perBucket.keys()].sort((a, b) => a - b);
      for (let i = 0; i < ids.length; i++) {
        let sum = 0;
        for (let j = i; j < ids.length && ids[j] <= ids[i] + B - 1; j++) sum += perBucket.get(ids[j]) as number;
        if (sum > max) max = sum;
      }
    }
    return max;
  }

  /**
   * Bound (c) on the sliding window `[s, s + W)` of one epoch: the hits in
   * it, and the two bounds of docs/window-math.md —
   *
   *   simple:   limit + A           (A: hits of bucket k = bucket(s) at or after s)
   *   weighted: limit + max(0, A − (1 − φ)·c_k),  also ≤ limit + L
   *
   * with φ = s/g − k the position of `s` in its bucket, c_k all hits of
   * bucket k and L the hits of bucket k+B before s + W. When s is aligned
   * (φ = 0) both reduce to `limit` (guarantee (a)).
   */
  slidingWindow(hits: Hit[], s: number): { count: number; simple: number; weighted: number } {
    const { buckets: B, windowMs: W } = this.shape;
    const k = this.bucketOf(s);
    const phi = exactFraction(this.shape, s);
    let count = 0;
    let a = 0;
    let ck = 0;
    let l = 0;
    for (const h of hits) {
      const b = this.bucketOf(h.t);
      if (h.t >= s && h.t < s + W) count += h.cost;
      if (b === k) {
        ck += h.cost;
        if (h.t >= s) a += h.cost;
      }
      if (b === k + B && h.t < s + W) l += h.cost;
    }
    if (phi === 0) return { count, simple: this.limit, weighted: this.limit };
    return {
      count,
      simple: this.limit + a,
      weighted: this.limit + Math.min(l, Math.max(0, a - (1 - phi) * ck)),
    };
  }

  /**
   * Every window start worth checking for bound (c) in one epoch: windows
   * starting at a hit, just after a hit, or ending at a hit.
   */
  windowStarts(hits: Hit[]): number[] {
    const W = this.shape.windowMs;
    const starts = new Set<number>();
    for (const h of hits) {
      starts.add(h.t);
      starts.add(h.t + 1);
      if (h.t - W + 1 >= 0) starts.add(h.t - W + 1);
    }
    return [...starts];
  }
}
