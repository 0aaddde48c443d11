/**
 * The real {@link Scheduler}: the process clock and Node timers.
 *
 * @module
 */
import type { Scheduler } from './transport.js';

/**
 * Wall-clock time and Node timers. Timers are unref'd: a pending gossip tick
 * or redial must never keep a process alive that has nothing else to do.
 *
 * @example
 * ```ts
 * const stop = realScheduler.every(20, flush);
 * // ...
 * stop();
 * ```
 */
export const realScheduler: Scheduler = {
  now: () => Date.now(),
  every(ms: number, fn: () => void): () => void {
    const timer = setInterval(fn, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
  after(ms: number, fn: () => void): () => void {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};
