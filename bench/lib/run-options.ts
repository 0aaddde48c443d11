/**
 * The benchmark runner's command line: scenario names and the few flags some
 * scenarios read, each with an environment variable for scripts and CI.
 *
 * | flag             | environment              | read by         |
 * |------------------|--------------------------|-----------------|
 * | `--before <ref>` | `TALLYMESH_BENCH_BEFORE` | consume-compare |
 * | `--rounds <n>`   | `TALLYMESH_BENCH_ROUNDS` | consume-compare |
 * | `--calls <n>`    | `TALLYMESH_BENCH_CALLS`  | consume-compare |
 *
 * `consume --before <ref>` is spelled out as the scenario `consume-compare`:
 * the before/after comparison of the consume path that issues use as their
 * "the decision path does not slow down" check.
 */
import type { RunOptions } from './scenario.js';

/** What the runner was asked to do. */
export interface RunRequest {
  /** Scenario names as given (after the `consume --before` alias); empty or `all` means every scenario. */
  scenarios: string[];
  options: RunOptions;
}

/** A command line the runner cannot act on; the runner prints it and exits with code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Scenario that `consume --before <ref>` stands for. */
export const COMPARE_SCENARIO = 'consume-compare';

const FLAGS = {
  '--before': { key: 'before', env: 'TALLYMESH_BENCH_BEFORE' },
  '--rounds': { key: 'rounds', env: 'TALLYMESH_BENCH_ROUNDS' },
  '--calls': { key: 'calls', env: 'TALLYMESH_BENCH_CALLS' },
} as const;
type Flag = keyof typeof FLAGS;

function isFlag(s: string): s is Flag {
  return Object.hasOwn(FLAGS, s);
}

function positiveInt(flag: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got "${text}"`);
  return n;
}

function setOption(options: RunOptions, flag: Flag, value: string, from: string): void {
  if (value === '') throw new UsageError(`${from} needs a value`);
  const { key } = FLAGS[flag];
  if (key === 'before') options.before = value;
  else options[key] = positiveInt(from, value);
}

/**
 * Parses the runner's arguments (`process.argv.slice(2)`). Flags given on the
 * command line win over their environment variables.
 *
 * @example
 * parseRunArgs(['consume', '--before', 'd3c5594'], {});
 * // → { scenarios: ['consume-compare'], options: { before: 'd3c5594' } }
 */
export function parseRunArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): RunRequest {
  const options: RunOptions = {};
  for (const flag of Object.keys(FLAGS) as Flag[]) {
    const value = env[FLAGS[flag].env];
    if (value !== undefined && value !== '') setOption(options, flag, value, FLAGS[flag].env);
  }
  const scenarios: string[] = [];
  let beforeFlag = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      scenarios.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    if (!isFlag(flag)) throw new UsageError(`unknown option ${flag}; known: ${Object.keys(FLAGS).join(', ')}`);
    let value: string | undefined = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || (eq === -1 && value.startsWith('--'))) value = '';
    setOption(options, flag, value, flag);
    if (flag === '--before') beforeFlag = true;
  }
  // Only the flag turns `consume` into the comparison: an exported environment
  // variable must not silently replace the plain consume scenario.
  const named = beforeFlag ? scenarios.map((s) => (s === 'consume' ? COMPARE_SCENARIO : s)) : scenarios;
  return { scenarios: [...new Set(named)], options };
}
