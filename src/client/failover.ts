/**
 * Which daemon URL to dial next. A URL whose connection failed (refused,
 * dropped, stuck, or closed because its daemon is going away) is skipped for
 * a backoff delay of its own, growing with its failures in a row
 * ({@link Backoff}); a successful connection resets it.
 *
 * Two strategies, both sticky — the client stays on a working daemon until
 * its connection fails:
 * - `first-healthy`: the first URL in the list that is not being skipped;
 * - `round-robin`: the next URL after the one used last that is not being
 *   skipped, so clients that start together spread over the daemons.
 *
 * @module
 */
import { Backoff, type BackoffOptions } from './backoff.js';

/** How {@link Failover} orders the URLs. */
export type FailoverStrategy = 'first-healthy' | 'round-robin';

/** What to do next: dial `index`, or wait `waitMs` until a URL may be tried again. */
export type FailoverPick = { index: number; waitMs: 0 } | { index: -1; waitMs: number };

interface UrlHealth {
  backoff: Backoff;
  /** Skipped until this time (ms, the `now` clock). */
  skipUntil: number;
}

/**
 * The URL rotation.
 *
 * @example
 * const f = new Failover(3, 'first-healthy', { initialMs: 50, maxMs: 5_000 });
 * const { index } = f.pick(Date.now()); // 0
 * f.failed(0, Date.now());              // 0 is skipped for up to 50 ms
 * f.pick(Date.now());                   // { index: 1, waitMs: 0 }
 */
export class Failover {
  #health: UrlHealth[];
  #strategy: FailoverStrategy;
  #last = -1;

  constructor(count: number, strategy: FailoverStrategy, backoff: BackoffOptions, random: () => number = Math.random) {
    this.#strategy = strategy;
    this.#health = Array.from({ length: count }, () => ({ backoff: new Backoff(backoff, random), skipUntil: 0 }));
  }

  /** The URL to dial now, or how long until one may be dialed. */
  pick(now: number): FailoverPick {
    const n = this.#health.length;
    const start = this.#strategy === 'round-robin' ? this.#last + 1 : 0;
    let soonest = Infinity;
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      const h = this.#health[i];
      if (h.skipUntil <= now) {
        this.#last = i;
        return { index: i, waitMs: 0 };
      }
      soonest = Math.min(soonest, h.skipUntil);
    }
    return { index: -1, waitMs: Math.max(1, Math.ceil(soonest - now)) };
  }

  /** The connection to `index` failed at `now`: skip it for its next backoff delay. */
  failed(index: number, now: number): void {
    const h = this.#health[index];
    h.skipUntil = now + h.backoff.next();
  }

  /** The connection to `index` opened: it is healthy again. */
  succeeded(index: number): void {
    const h = this.#health[index];
    h.backoff.reset();
    h.skipUntil = 0;
  }

  /** Failures in a row of `index` (for status and tests). */
  failures(index: number): number {
    return this.#health[index].backoff.attempts;
  }
}
