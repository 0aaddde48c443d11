/**
 * The shape of one benchmark result row, shared by scenarios, targets and
 * the result file (its own module, so that neither imports the other).
 */

/**
 * One measured row: a `name` (the competitor or derived figure set) plus any
 * number of figures. Figures are numbers, or strings for labels; the JSON keeps
 * every raw figure so ratios can always be recomputed from it.
 */
export interface ResultRow {
  name: string;
  [figure: string]: number | string;
}
