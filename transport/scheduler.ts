/**
 * Time and timers as the replicator and the transports see them: the
 * {@link Scheduler} interface and the real one, {@link realScheduler}. The
 * simulated network implements it with a virtual clock per node
 * (`transport/sim/sim-clock.ts`).
 *
 * @module
 */

/**
 * Time and timers, as the replicator sees them. The real one uses the
 * process clock; the simulated network gives each node a virtual clock with
 * its own offset.
 */
export interface Scheduler {
  /** Physical wall-clock time in ms since the Unix epoch, as this node reads it. */
  now(): number;
  /** Run `fn` every `ms`; returns a cancel function. Real timers are unref'd. */
  every(ms: number, fn: () => void): () => void;
  /** Run `fn` once after `ms`; returns a cancel function. */
  after(ms: number, fn: () => void): () => void;
}

/**
 * Wall-clock time and Node timers. Timers are unref'd: a pending gossip tick
 * or redial must never keep a process alive that has nothing else to do.
 *
 * @example
 * ```ts
 * const stop = realScheduler.every(20, tick);
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
