/**
 * The contract between the benchmark runner and one scenario file
 * (`bench/<scenario>.bench.ts`). The runner knows nothing else about a
 * scenario, so new scenarios (mesh, daemon) plug in by exporting these three
 * members.
 */
import type { Listing } from './listing.js';
import type { ResultRow } from './result-row.js';
import type { Target } from './targets.js';

export type { ResultRow } from './result-row.js';

/**
 * Options from the runner's command line (`--before <ref>`, `--rounds <n>`,
 * `--calls <n>`) or their `TALLYMESH_BENCH_*` environment variables. A scenario
 * reads the ones it understands and ignores the rest.
 */
export interface RunOptions {
  /** Git ref of the build to compare the current one against (consume-compare). */
  before?: string;
  /** Rounds of alternating processes, overriding the scenario's default. */
  rounds?: number;
  /** Timed calls per repetition, overriding the scenario's default (short runs while developing). */
  calls?: number;
}

/** What a `bench/<scenario>.bench.ts` module exports. */
export interface ScenarioModule {
  /** One paragraph: what is measured and how; printed and copied into the docs. */
  description: string;
  /** Goals evaluated against this scenario's rows after every run. */
  targets: readonly Target[];
  /** Source texts the scenario runs (e.g. a competitor's script), stored in the result file and quoted in the docs. */
  appendix?: readonly Listing[];
  /**
   * Options the scenario cannot run without. `npm run bench` (all scenarios)
   * skips a scenario whose required options are missing; naming it explicitly
   * without them is an error.
   */
  requires?: readonly (keyof RunOptions)[];
  /** Runs the whole scenario and resolves with every row, raw figures included. */
  run(options: RunOptions): Promise<ResultRow[]>;
}

/**
 * Narrows an imported module to {@link ScenarioModule}, naming the missing
 * export so a half-written scenario fails with a useful message.
 */
export function assertScenarioModule(name: string, mod: unknown): asserts mod is ScenarioModule {
  const m = mod as Partial<ScenarioModule> | null;
  if (m === null || typeof m !== 'object') throw new TypeError(`scenario "${name}" is not a module`);
  if (typeof m.run !== 'function') throw new TypeError(`scenario "${name}" must export async function run()`);
  if (typeof m.description !== 'string') throw new TypeError(`scenario "${name}" must export a string "description"`);
  if (!Array.isArray(m.targets)) throw new TypeError(`scenario "${name}" must export an array "targets"`);
  if (m.appendix !== undefined && !Array.isArray(m.appendix)) throw new TypeError(`scenario "${name}": "appendix" must be an array`);
  if (m.requires !== undefined && !Array.isArray(m.requires)) throw new TypeError(`scenario "${name}": "requires" must be an array`);
}
