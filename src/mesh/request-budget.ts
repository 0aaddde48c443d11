/**
 * Per-peer budgets for the requests that cost this node a walk over a whole
 * window: a DIGEST (a digest pass when its range is not ours, and pushes of
 * every shard that differs), a REPAIR (a walk answering the shards it
 * names) and a snapshot (a walk of every limiter, on SYNC or on a new link).
 * An honest peer sends one DIGEST and at most one REPAIR per digest
 * interval, and needs a snapshot when its link comes back; a peer that asks
 * more often than that is throttled: the request is dropped (a snapshot is
 * deferred), counted and reported, never allowed to force walks at will.
 *
 * Each budget is a token bucket (burst, then one token per refill period),
 * with periods in units of this node's digest interval, so that a peer
 * whose digest interval is up to half of ours is never throttled.
 *
 * @module
 */

/** A request that costs this node a walk over a window's keys. */
export type CostlyRequest = 'digest' | 'repair' | 'snapshot';

/** Per kind: requests taken at once, and digest intervals per further request. */
const BUDGETS: Readonly<Record<CostlyRequest, { burst: number; refillIntervals: number }>> = {
  // One a digest interval is honest; two a digest interval leave room for a
  // peer configured with a shorter interval and for jitter.
  digest: { burst: 4, refillIntervals: 0.5 },
  repair: { burst: 4, refillIntervals: 0.5 },
  // New links and SYNCs: a few at once (a flapping link), then one per interval.
  snapshot: { burst: 4, refillIntervals: 1 },
};

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date. */
  at: number;
}

/**
 * One peer's budgets, kept on its peer record (so that reconnecting refills
 * nothing).
 *
 * @example
 * const budget = new RequestBudget();
 * if (!budget.take('repair', now, digestIntervalMs)) refuse(peer, 'repair-throttled');
 */
export class RequestBudget {
  #buckets = new Map<CostlyRequest, Bucket>();

  /** True when a request of `kind` would be taken now (takes nothing). */
  available(kind: CostlyRequest, now: number, digestIntervalMs: number): boolean {
    return this.#refill(kind, now, digestIntervalMs).tokens >= 1;
  }

  /** Takes a request of `kind`; false (taking nothing) when the peer is over its budget. */
  take(kind: CostlyRequest, now: number, digestIntervalMs: number): boolean {
    const bucket = this.#refill(kind, now, digestIntervalMs);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  #refill(kind: CostlyRequest, now: number, digestIntervalMs: number): Bucket {
    const { burst, refillIntervals } = BUDGETS[kind];
    let bucket = this.#buckets.get(kind);
    if (bucket === undefined) {
      bucket = { tokens: burst, at: now };
      this.#buckets.set(kind, bucket);
      return bucket;
    }
    // A clock stepping back refills nothing (and takes nothing).
    const elapsed = Math.max(0, now - bucket.at);
    bucket.tokens = Math.min(burst, bucket.tokens + elapsed / (refillIntervals * digestIntervalMs));
    bucket.at = Math.max(bucket.at, now);
    return bucket;
  }
}
