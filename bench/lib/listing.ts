/**
 * A source text a scenario runs (e.g. a competitor's Lua script), carried in
 * the result file so the docs quote exactly what was measured (its own
 * module, so that scenario.ts and result-file.ts need not import each other).
 */

/** One quoted file. */
export interface Listing {
  title: string;
  /** Where it lives, from the repository root. */
  file: string;
  /** Code-fence language, e.g. `lua`. */
  language: string;
  text: string;
}
