/**
 * A log sampler: at most one report per subject per interval, counting what
 * was held back. (It thins logs and events; it has nothing to do with the
 * rate limiting the package does.)
 * The daemon's logs and events use it so that a flood (a skewed peer sending
 * fifty frames a second, a limiter past its key bound) becomes one line every
 * few seconds that says how many were folded into it.
 *
 * @module
 */

/** Subjects remembered before the table is cleared (subjects are peers, limiters and reasons: few). */
const MAX_SUBJECTS = 1024;

/**
 * Lets one report per subject through every `intervalMs`.
 *
 * @example
 * const sampler = new LogSampler(10_000);
 * const suppressed = sampler.take(`overflow:${limiter.name}`);
 * if (suppressed !== null) logger.warn({ limiter: limiter.name, suppressed }, 'limiter overflow');
 */
export class LogSampler {
  readonly intervalMs: number;
  #now: () => number;
  /** Per subject: when the last report went out and how many were held back since. */
  #subjects = new Map<string, { at: number; suppressed: number }>();

  constructor(intervalMs: number, now: () => number = Date.now) {
    this.intervalMs = intervalMs;
    this.#now = now;
  }

  /**
   * Returns null when `subject` reported within the interval (the call is
   * counted), otherwise the number of calls held back since its last report.
   */
  take(subject: string): number | null {
    const now = this.#now();
    const entry = this.#subjects.get(subject);
    if (entry !== undefined && now - entry.at < this.intervalMs) {
      entry.suppressed++;
      return null;
    }
    // The table only holds a handful of subjects; clearing it when it somehow
    // grows keeps memory bounded at the price of one early report each.
    if (entry === undefined && this.#subjects.size >= MAX_SUBJECTS) this.#subjects.clear();
    const suppressed = entry?.suppressed ?? 0;
    this.#subjects.set(subject, { at: now, suppressed: 0 });
    return suppressed;
  }
}
