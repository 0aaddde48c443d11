/**
 * Value axes of the benchmark charts: a linear axis from zero with "nice"
 * ticks (1, 2 or 5 × a power of ten), or a log axis with a tick per power of
 * ten, for figures that span orders of magnitude (convergence from 3 ms to
 * 6 s). A scale maps a value to a fraction of the axis length.
 */

/** A value axis: where a value falls (0 … 1 of the length) and where its labelled ticks are. */
export interface Axis {
  kind: 'linear' | 'log';
  /** Fraction of the axis length for `value`; values outside the domain are clamped. */
  at(value: number): number;
  ticks: number[];
}

/** The smallest 1, 2 or 5 × 10^k that is ≥ `x` (x > 0). */
export function niceCeil(x: number): number {
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x * (1 - 1e-12)) return m * p;
  return 10 * p;
}

/**
 * A linear axis from 0 to a nice bound above `max`, with 4 or 5 ticks.
 *
 * @example
 * linearAxis(56_627).ticks; // → [0, 20000, 40000, 60000]
 */
export function linearAxis(max: number): Axis {
  if (!(max > 0)) return { kind: 'linear', at: () => 0, ticks: [0] };
  const step = niceCeil(max / 4);
  const top = Math.ceil(max / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let t = 0; t <= top + step / 2; t += step) ticks.push(Math.round(t * 1e9) / 1e9);
  return { kind: 'linear', at: (v) => Math.min(1, Math.max(0, v / top)), ticks };
}

/**
 * A linear axis over [min, max] widened to whole steps of 1, 2 or 5 × a power
 * of ten (about 4 of them), for figures that sit far from zero (ratios
 * around 1). An empty range is widened by one step each way.
 *
 * @example
 * rangeAxis(0.51, 2.08).ticks; // → [0.5, 1, 1.5, 2, 2.5]
 */
export function rangeAxis(min: number, max: number): Axis {
  const span = max - min;
  const step = niceCeil(span > 0 ? span / 4 : Math.abs(max) > 0 ? Math.abs(max) / 4 : 1);
  let lo = Math.floor(min / step + 1e-9) * step;
  let hi = Math.ceil(max / step - 1e-9) * step;
  if (hi <= lo) {
    lo -= step;
    hi += step;
  }
  const ticks: number[] = [];
  for (let t = lo; t <= hi + step / 2; t += step) ticks.push(Math.round(t * 1e9) / 1e9);
  return { kind: 'linear', at: (v) => Math.min(1, Math.max(0, (v - lo) / (hi - lo))), ticks };
}

/**
 * A log axis from the power of ten at or below `min` to the one at or above
 * `max` (at least one decade). Values at or below the bottom sit at 0.
 *
 * @example
 * logAxis(3, 6574).ticks; // → [1, 10, 100, 1000, 10000]
 */
export function logAxis(min: number, max: number): Axis {
  const lo = Math.floor(Math.log10(Math.max(min, Number.MIN_VALUE)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(max, min))));
  const ticks: number[] = [];
  for (let e = lo; e <= hi; e++) ticks.push(10 ** e);
  return { kind: 'log', at: (v) => (v <= 0 ? 0 : Math.min(1, Math.max(0, (Math.log10(v) - lo) / (hi - lo)))), ticks };
}

/**
 * A short label for a figure: 1.2M, 56.6k, 7.42, 0.464 — three significant
 * digits, thousands as k and millions as M.
 */
export function shortNumber(v: number): string {
  const abs = Math.abs(v);
  const sig = (x: number): string => String(Number(x.toPrecision(3)));
  if (abs >= 1e9) return `${sig(v / 1e9)}G`;
  if (abs >= 1e6) return `${sig(v / 1e6)}M`;
  if (abs >= 1e3) return `${sig(v / 1e3)}k`;
  return sig(v);
}
