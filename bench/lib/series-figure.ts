/**
 * A figure that is a series of numbers (e.g. hits admitted per bucket over a
 * run), kept in a result row as one string so the row stays flat (every
 * figure a number or a string, as result-file.ts validates): the numbers
 * joined by commas, under a name ending in `Series`. Tables leave such
 * figures out (a long list of numbers is a chart's input, not a cell);
 * charts decode them.
 */

/** How a series figure's name ends, e.g. `admittedSeries`. */
export const SERIES_SUFFIX = 'Series';

/** Whether the figure named `name` holds a series. */
export function isSeriesFigure(name: string): boolean {
  return name.length > SERIES_SUFFIX.length && name.endsWith(SERIES_SUFFIX);
}

/**
 * A series as a figure: finite numbers, rounded to `decimals`, joined by commas.
 *
 * @example
 * encodeSeries([100, 98.25, 0], 1); // → '100,98.3,0'
 */
export function encodeSeries(values: readonly number[], decimals = 0): string {
  const scale = 10 ** decimals;
  return values
    .map((v) => {
      if (!Number.isFinite(v)) throw new RangeError(`series: ${v} is not finite`);
      const r = Math.round(v * scale) / scale;
      return String(r === 0 ? 0 : r);
    })
    .join(',');
}

/** The numbers of a series figure; null when `figure` is not one (absent, a number, or text that is not numbers and commas). */
export function decodeSeries(figure: number | string | undefined): number[] | null {
  if (typeof figure !== 'string') return null;
  if (figure === '') return [];
  const values = figure.split(',').map(Number);
  return values.every(Number.isFinite) ? values : null;
}
