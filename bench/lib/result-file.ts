/**
 * The result file `bench/results/<scenario>.json`: its shape, how the runner
 * builds it, how readers validate it, and where it lives. This is the only
 * interface between running benchmarks and rendering `docs/benchmarks.md`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Listing } from './listing.js';
import type { MachineInfo } from './machine.js';
import type { ResultRow, ScenarioModule } from './scenario.js';
import { evaluateTargets, type TargetVerdict } from './targets.js';

export type { Listing } from './listing.js';

/** Contents of `bench/results/<scenario>.json`. */
export interface ResultFile {
  scenario: string;
  description: string;
  machine: MachineInfo;
  results: ResultRow[];
  /** Targets evaluated on `results` at run time, so readers need no scenario code. */
  targets: TargetVerdict[];
  /** What the run executed that the docs quote (absent when the scenario has none). */
  appendix?: Listing[];
}

/** Assembles a result file from one scenario run, evaluating its targets. */
export function buildResultFile(
  scenario: string,
  mod: Pick<ScenarioModule, 'description' | 'targets' | 'appendix'>,
  results: ResultRow[],
  machine: MachineInfo,
): ResultFile {
  const file: ResultFile = { scenario, description: mod.description, machine, results, targets: evaluateTargets(results, mod.targets) };
  if (mod.appendix !== undefined && mod.appendix.length > 0) file.appendix = mod.appendix.map((l) => ({ ...l }));
  return file;
}

/**
 * Validates parsed JSON as a {@link ResultFile}. Throws a TypeError naming the
 * offending field, because a hand-edited or truncated file should fail the
 * docs build loudly rather than render a half-empty table.
 */
export function parseResultFile(json: unknown, source = 'result file'): ResultFile {
  const fail = (field: string, want: string): never => {
    throw new TypeError(`${source}: "${field}" must be ${want}`);
  };
  const obj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

  if (!obj(json)) fail('(root)', 'an object');
  const f = json as Record<string, unknown>;
  if (typeof f.scenario !== 'string' || f.scenario === '') fail('scenario', 'a non-empty string');
  if (typeof f.description !== 'string') fail('description', 'a string');

  if (!obj(f.machine)) fail('machine', 'an object');
  const m = f.machine as Record<string, unknown>;
  for (const key of ['cpu', 'node', 'os', 'date'] as const) {
    if (typeof m[key] !== 'string') fail(`machine.${key}`, 'a string');
  }
  for (const key of ['cores', 'memoryBytes', 'loadAvg1'] as const) {
    if (!num(m[key])) fail(`machine.${key}`, 'a finite number');
  }

  if (!Array.isArray(f.results)) fail('results', 'an array');
  (f.results as unknown[]).forEach((row, i) => {
    if (!obj(row)) fail(`results[${i}]`, 'an object');
    const r = row as Record<string, unknown>;
    if (typeof r.name !== 'string' || r.name === '') fail(`results[${i}].name`, 'a non-empty string');
    for (const [key, value] of Object.entries(r)) {
      if (!num(value) && typeof value !== 'string') fail(`results[${i}].${key}`, 'a finite number or a string');
    }
  });

  if (!Array.isArray(f.targets)) fail('targets', 'an array');
  (f.targets as unknown[]).forEach((t, i) => {
    if (!obj(t)) fail(`targets[${i}]`, 'an object');
    const v = t as Record<string, unknown>;
    if (typeof v.id !== 'string') fail(`targets[${i}].id`, 'a string');
    if (typeof v.description !== 'string') fail(`targets[${i}].description`, 'a string');
    if (!obj(v.row)) fail(`targets[${i}].row`, 'an object');
    if (typeof v.figure !== 'string') fail(`targets[${i}].figure`, 'a string');
    if (v.op !== '>=' && v.op !== '<=') fail(`targets[${i}].op`, '">=" or "<="');
    if (!num(v.threshold)) fail(`targets[${i}].threshold`, 'a finite number');
    if (v.actual !== null && !num(v.actual)) fail(`targets[${i}].actual`, 'a finite number or null');
    if (typeof v.met !== 'boolean') fail(`targets[${i}].met`, 'a boolean');
  });

  if (f.appendix !== undefined) {
    if (!Array.isArray(f.appendix)) fail('appendix', 'an array');
    (f.appendix as unknown[]).forEach((l, i) => {
      if (!obj(l)) fail(`appendix[${i}]`, 'an object');
      for (const key of ['title', 'file', 'language', 'text'] as const) {
        if (typeof (l as Record<string, unknown>)[key] !== 'string') fail(`appendix[${i}].${key}`, 'a string');
      }
    });
  }

  return json as unknown as ResultFile;
}

/**
 * The repository root, found by walking up from this module to the nearest
 * `package.json`. Resolving from the module file rather than `process.cwd()`
 * means `node dist/bench/run.js` writes to the repo's `bench/results/` from any
 * directory, and the same code works compiled (dist/bench/) or from source.
 */
export function repoRoot(fromUrl: string = import.meta.url): string {
  let dir = path.dirname(fileURLToPath(fromUrl));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(fromUrl)}`);
    dir = parent;
  }
}

/** Absolute path of `bench/results/` in this repository. */
export function resultsDir(): string {
  return path.join(repoRoot(), 'bench', 'results');
}

/** Serialises a result file the way it is committed: 2-space JSON, final newline. */
export function stringifyResultFile(file: ResultFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}
