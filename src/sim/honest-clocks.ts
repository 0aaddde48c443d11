/**
 * Which nodes' clocks the cluster can work with, from their offsets alone:
 * the largest group whose offsets, sorted, step by at most the offset bound
 * `δ` (each neighbour accepts the next) and span at most `2δ` (no relayed
 * clock is refused; docs/window-math.md, "Time"), each less a margin for
 * borrows and delivery. A node outside it (a rogue clock) is refused by some
 * of its peers, so the cluster owes it neither convergence nor its hits; the
 * simulation and its oracle check the others for exactness and the rogue
 * only for never over-counting.
 *
 * @module
 */

/** Ms kept clear of each bound: borrows and the latency a frame's clock ages by in flight. */
const MARGIN_MS = 20;

/** The nodes of `offsets` (node id → ms ahead of true time) whose clocks the bound `maxClockOffsetMs` lets meet. */
export function honestNodes(offsets: ReadonlyMap<string, number>, maxClockOffsetMs: number): Set<string> {
  const sorted = [...offsets].sort((x, y) => x[1] - y[1] || x[0].localeCompare(y[0]));
  let best: [number, number] = [0, 0];
  for (let lo = 0; lo < sorted.length; lo++) {
    let hi = lo;
    while (
      hi + 1 < sorted.length &&
      sorted[hi + 1][1] - sorted[hi][1] <= maxClockOffsetMs - MARGIN_MS &&
      sorted[hi + 1][1] - sorted[lo][1] <= 2 * maxClockOffsetMs - MARGIN_MS
    ) {
      hi++;
    }
    if (hi - lo > best[1] - best[0]) best = [lo, hi];
  }
  return new Set(sorted.slice(best[0], best[1] + 1).map(([id]) => id));
}
