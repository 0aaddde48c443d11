/**
 * Capped exponential backoff with full jitter, for redialing a daemon.
 *
 * The n-th delay in a row is drawn uniformly from [0, min(maxMs, initialMs × 2^n)]
 * ("full jitter", Brooker, *Exponential Backoff and Jitter*, AWS Architecture
 * Blog, 2015): many clients that lost the same daemon spread their redials
 * over the whole interval instead of arriving together.
 *
 * @module
 */

/** Bounds of a {@link Backoff}. */
export interface BackoffOptions {
  /** Upper end of the first delay. */
  initialMs: number;
  /** No delay is longer than this. */
  maxMs: number;
}

/**
 * One backoff sequence; {@link Backoff.reset} starts it over after a success.
 *
 * @example
 * const b = new Backoff({ initialMs: 50, maxMs: 5_000 });
 * b.next(); // somewhere in [0, 50]; then [0, 100], [0, 200], … [0, 5000]
 * b.reset();
 */
export class Backoff {
  #opts: BackoffOptions;
  #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions, random: () => number = Math.random) {
    this.#opts = options;
    this.#random = random;
  }

  /** Failures since the last reset. */
  get attempts(): number {
    return this.#attempt;
  }

  /** The next delay, in ms. */
  next(): number {
    // 2^31 already exceeds any cap we accept; stop the exponent growing.
    const ceiling = Math.min(this.#opts.maxMs, this.#opts.initialMs * 2 ** Math.min(this.#attempt, 31));
    this.#attempt++;
    return Math.floor(this.#random() * (ceiling + 1));
  }

  /** Starts the sequence over. */
  reset(): void {
    this.#attempt = 0;
  }
}
