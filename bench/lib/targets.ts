/**
 * Benchmark targets: goals stated as data ("this figure of that row must be at
 * least N"), so they are serialisable. The runner evaluates them right after a
 * run and stores the verdicts in the result JSON; the docs renderer then needs
 * no access to scenario code.
 */
import type { ResultRow } from './result-row.js';

/** Comparison a target applies: `actual >= threshold` or `actual <= threshold`. */
export type TargetOp = '>=' | '<=';

/** A goal for one figure of one row. */
export interface Target {
  /** Stable identifier, e.g. `'throughput-vs-rlf-1'`. */
  id: string;
  /** Human sentence, e.g. `'tallymesh ops/s ≥ 2× rate-limiter-flexible, 1 key'`. */
  description: string;
  /** Selects the row: every listed field must equal the row's field. */
  row: Record<string, string | number>;
  /** Name of the figure within the selected row. */
  figure: string;
  op: TargetOp;
  threshold: number;
}

/** A target together with what this run measured. */
export interface TargetVerdict extends Target {
  /** The measured figure, or `null` when the row or figure is missing. */
  actual: number | null;
  /** `true` only when the figure exists and satisfies the comparison. */
  met: boolean;
}

/**
 * Evaluates every target against the rows of one run.
 *
 * A missing row or figure is a verdict of "not met" with `actual: null` rather
 * than an exception: a scenario that lost a competitor should still write its
 * other figures, and the docs should show the gap plainly.
 *
 * @example
 * evaluateTargets([{ name: 'ratios', vsX: 2.4 }],
 *   [{ id: 'x', description: '2× X', row: { name: 'ratios' }, figure: 'vsX', op: '>=', threshold: 2 }]);
 * // → [{ ..., actual: 2.4, met: true }]
 */
export function evaluateTargets(rows: readonly ResultRow[], targets: readonly Target[]): TargetVerdict[] {
  return targets.map((target) => {
    const row = rows.find((r) => Object.entries(target.row).every(([field, value]) => r[field] === value));
    const value = row?.[target.figure];
    const actual = typeof value === 'number' && Number.isFinite(value) ? value : null;
    return { ...target, row: { ...target.row }, actual, met: actual !== null && compare(actual, target.op, target.threshold) };
  });
}

function compare(actual: number, op: TargetOp, threshold: number): boolean {
  return op === '>=' ? actual >= threshold : actual <= threshold;
}

/** `'≥ 2'`-style rendering of a target's wanted value, shared by console and docs. */
export function formatWanted(target: Pick<Target, 'op' | 'threshold'>): string {
  return `${target.op === '>=' ? '≥' : '≤'} ${target.threshold}`;
}

/** `'met'`, `'NOT met'` or `'missing'` (row or figure absent from the run). */
export function formatVerdict(verdict: Pick<TargetVerdict, 'actual' | 'met'>): string {
  if (verdict.actual === null) return 'missing';
  return verdict.met ? 'met' : 'NOT met';
}
