/**
 * Benchmark runner: `npm run bench -- [scenario ...|all] [--before <ref>]
 * [--rounds <n>] [--calls <n>]` (flags in run-options.ts).
 *
 * Loads `dist/bench/<scenario>.bench.js`, runs it, prints its rows and target
 * verdicts as aligned tables, and writes `bench/results/<scenario>.json`.
 * Scenarios run one after another, never concurrently: they compete for the
 * same cores and would skew each other's figures.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { collectMachineInfo } from './lib/machine.js';
import { formatResultFileForConsole } from './lib/render-console.js';
import { buildResultFile, resultsDir, stringifyResultFile, type ResultFile } from './lib/result-file.js';
import { parseRunArgs, UsageError } from './lib/run-options.js';
import { assertScenarioModule, type RunOptions, type ScenarioModule } from './lib/scenario.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const SUFFIX = '.bench.js';

/** Scenario names available next to this runner, e.g. `['consume']`. */
async function listScenarios(dir: string = BENCH_DIR): Promise<string[]> {
  return (await readdir(dir))
    .filter((n) => n.endsWith(SUFFIX))
    .map((n) => n.slice(0, -SUFFIX.length))
    .sort();
}

async function loadScenario(name: string): Promise<ScenarioModule> {
  const mod: unknown = await import(pathToFileURL(path.join(BENCH_DIR, name + SUFFIX)).href);
  assertScenarioModule(name, mod);
  return mod;
}

/** Options a scenario requires but was not given, e.g. `['before']`. */
function missingOptions(mod: ScenarioModule, options: RunOptions): string[] {
  return (mod.requires ?? []).filter((key) => options[key] === undefined);
}

async function runScenario(name: string, mod: ScenarioModule, options: RunOptions): Promise<ResultFile> {
  console.error(`running ${name}: ${mod.description}`);
  // Machine info is read before the run so the date marks when it started.
  const machine = collectMachineInfo();
  if (machine.loadAvg1 > machine.cores / 2) {
    // Not fatal: the load is recorded in the result file for readers to judge.
    console.error(`warning: load average ${machine.loadAvg1} on ${machine.cores} cores; figures will be noisy`);
  }
  const rows = await mod.run(options);
  return buildResultFile(name, mod, rows, machine);
}

async function main(argv: string[]): Promise<void> {
  const { scenarios, options } = parseRunArgs(argv);
  const available = await listScenarios();
  const all = scenarios.length === 0 || scenarios.includes('all');
  const wanted = all ? available : scenarios;
  const unknown = wanted.filter((n) => !available.includes(n));
  if (unknown.length > 0) throw new UsageError(`unknown scenario(s): ${unknown.join(', ')}; available: ${available.join(', ') || '(none)'}`);
  const runs: [string, ScenarioModule][] = [];
  for (const name of wanted) {
    const mod = await loadScenario(name);
    const missing = missingOptions(mod, options);
    const flags = missing.map((key) => `--${key}`).join(', ');
    if (missing.length === 0) runs.push([name, mod]);
    else if (all) console.error(`skipping ${name}: it needs ${flags}`);
    else throw new UsageError(`scenario ${name} needs ${flags} (see bench/run-options.ts)`);
  }
  const outDir = resultsDir();
  await mkdir(outDir, { recursive: true });
  for (const [name, mod] of runs) {
    const file = await runScenario(name, mod, options);
    const out = path.join(outDir, `${name}.json`);
    await writeFile(out, stringifyResultFile(file));
    console.log(formatResultFileForConsole(file));
    console.log(`\nwrote ${out}\n`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError) {
    console.error(err.message);
    process.exitCode = 2;
    return;
  }
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
