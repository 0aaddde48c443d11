/**
 * Recent overflows per limiter, for `/readyz`: a new key that met the node's
 * key bound (`maxKeys`) was decided by the limiter's `onOverflow` policy
 * instead of being counted, and the node says so in its readiness body for
 * {@link OVERFLOW_RECENT_MS} after the last one — without failing the probe.
 *
 * Bounded: one entry per configured limiter.
 *
 * @module
 */
import type { Limiter, OverflowPolicy } from '../../limiter/limiter.js';

/** How long after its last overflow a limiter stays listed as degraded. */
export const OVERFLOW_RECENT_MS = 60_000;

/** A limiter's overflows in its current episode (overflows no more than {@link OVERFLOW_RECENT_MS} apart). */
export interface RecentOverflow {
  limiter: string;
  policy: OverflowPolicy;
  /** Overflows since the episode began. */
  count: number;
  /** Ms since the episode's first overflow. */
  sinceMs: number;
  /** Ms since the last overflow. */
  lastMs: number;
}

/**
 * Remembers each limiter's latest overflow episode.
 *
 * @example
 * const watch = new OverflowWatch();
 * watch.record(limiter);
 * watch.recent(); // [{ limiter: 'api', policy: 'allow', count: 1, sinceMs: 0, lastMs: 0 }]
 */
export class OverflowWatch {
  #now: () => number;
  #episodes = new Map<string, { policy: OverflowPolicy; first: number; last: number; count: number }>();

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Counts one overflow of `limiter`. */
  record(limiter: Limiter): void {
    const now = this.#now();
    const e = this.#episodes.get(limiter.name);
    if (e === undefined || now - e.last > OVERFLOW_RECENT_MS) {
      this.#episodes.set(limiter.name, { policy: limiter.overflowPolicy, first: now, last: now, count: 1 });
      return;
    }
    e.last = now;
    e.count++;
  }

  /** Limiters that overflowed within the last {@link OVERFLOW_RECENT_MS}, by name. */
  recent(): RecentOverflow[] {
    const now = this.#now();
    const out: RecentOverflow[] = [];
    for (const [limiter, e] of this.#episodes) {
      if (now - e.last <= OVERFLOW_RECENT_MS) out.push({ limiter, policy: e.policy, count: e.count, sinceMs: now - e.first, lastMs: now - e.last });
    }
    return out.sort((x, y) => (x.limiter < y.limiter ? -1 : 1));
  }
}
