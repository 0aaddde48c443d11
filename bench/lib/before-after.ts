/**
 * The arithmetic of a before/after comparison, kept apart from processes and
 * git so it can be tested: which build runs first in each pair, and how pairs
 * become per-case and overall figures.
 *
 * Every figure that matters is a ratio of two processes that ran back to back
 * (one pair), so a slow minute on a shared machine hits both sides of the
 * pairs it overlaps rather than one build's whole series. The order within a
 * pair alternates (B A, A B, B A, ...), so neither build always runs first,
 * right after the other's process exited.
 */

/** One of the two builds being compared. */
export type Build = 'before' | 'after';

/** One back-to-back pair of processes for one case. */
export interface Pair {
  /** 1-based round number. */
  round: number;
  /** Which build ran first in this pair. */
  first: Build;
  beforeOpsPerSec: number;
  afterOpsPerSec: number;
}

/** Figures of one case over all its pairs. */
export interface CaseSummary {
  beforeMedianOpsPerSec: number;
  afterMedianOpsPerSec: number;
  /** Median over pairs of after ÷ before. */
  medianRatio: number;
  minRatio: number;
  maxRatio: number;
}

/**
 * Order of the pair for `round` (0-based) and case `caseIndex` (0-based):
 * successive pairs alternate, giving B A, A B, B A, A B ... through a round,
 * and each case swaps its order from one round to the next.
 *
 * @example
 * [0, 1, 2].map((c) => pairOrder(0, c)); // → [['before','after'], ['after','before'], ['before','after']]
 */
export function pairOrder(round: number, caseIndex: number): [Build, Build] {
  return (round + caseIndex) % 2 === 0 ? ['before', 'after'] : ['after', 'before'];
}

/**
 * Median of a non-empty list (mean of the middle two for an even count).
 *
 * @example
 * median([3, 1, 2]); // → 2
 * median([4, 1, 3, 2]); // → 2.5
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Rounds a ratio to three decimals, as every ratio in the result files. */
export function roundRatio(r: number): number {
  return Math.round(r * 1000) / 1000;
}

/** after ÷ before of one pair: above 1 means the current build is faster. */
export function pairRatio(pair: Pair): number {
  return pair.afterOpsPerSec / pair.beforeOpsPerSec;
}

/**
 * Summarises the pairs of one case: median throughput of each build and the
 * median, least and greatest of the per-pair ratios.
 *
 * @example
 * summarisePairs([{ round: 1, first: 'before', beforeOpsPerSec: 100, afterOpsPerSec: 99 }]);
 * // → { beforeMedianOpsPerSec: 100, afterMedianOpsPerSec: 99, medianRatio: 0.99, minRatio: 0.99, maxRatio: 0.99 }
 */
export function summarisePairs(pairs: readonly Pair[]): CaseSummary {
  const ratios = pairs.map(pairRatio);
  return {
    beforeMedianOpsPerSec: Math.round(median(pairs.map((p) => p.beforeOpsPerSec))),
    afterMedianOpsPerSec: Math.round(median(pairs.map((p) => p.afterOpsPerSec))),
    medianRatio: roundRatio(median(ratios)),
    minRatio: roundRatio(Math.min(...ratios)),
    maxRatio: roundRatio(Math.max(...ratios)),
  };
}
