/**
 * The accuracy figure of the mesh scenario, computed from the load
 * generators' own logs of admitted timestamps — never from the limiter's
 * counters (design.md, "What the figures mean").
 */

/** Merges per-node logs of admitted machine times into one ascending array. */
export function mergeAdmitted(logs: readonly Float64Array[]): Float64Array {
  const total = logs.reduce((n, log) => n + log.length, 0);
  const all = new Float64Array(total);
  let at = 0;
  for (const log of logs) {
    all.set(log, at);
    at += log.length;
  }
  return all.sort();
}

/**
 * The most timestamps inside any half-open window `[s, s + windowMs)` with
 * `s ≥ from`. `times` must be ascending. A window holding the most hits can
 * always be slid right until it starts at a hit (or at `from`), so those are
 * the only starts examined; two pointers make it linear.
 *
 * @example
 * maxInWindow(Float64Array.of(0, 1, 2, 10, 11), 10, 0); // 3: [0, 10) holds 0, 1, 2
 */
export function maxInWindow(times: Float64Array, windowMs: number, from = -Infinity): number {
  let best = 0;
  let end = 0;
  let first = 0;
  while (first < times.length && times[first] < from) first++;
  for (let i = first; i < times.length; i++) {
    if (end < i) end = i;
    while (end < times.length && times[end] < times[i] + windowMs) end++;
    best = Math.max(best, end - i);
  }
  return best;
}
