/**
 * Merges the rows of a run of part of a scenario (e.g.
 * `TALLYMESH_BENCH_ACCURACY_ROWS=partition`) into a result file of a whole
 * run, so a re-measured subset never replaces a full file with a partial
 * one. Each merged row replaces the row of the same name (or is added) and
 * carries a `run` figure naming its own run (date and load average at the
 * start), since the file's `machine` describes the other rows' run; the
 * targets are evaluated again on the merged rows.
 *
 * `node dist/bench/lib/merge-results.js <part.json> <whole.json>` rewrites
 * `<whole.json>`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseResultFile, stringifyResultFile, type ResultFile } from './result-file.js';
import { evaluateTargets } from './targets.js';

/**
 * `whole` with the rows of `part` merged in (same scenario), keeping `whole`'s
 * machine and row order, and `part`'s description (the newer code's).
 *
 * @example
 * const merged = mergeResultFiles(committed, partitionRun);
 */
export function mergeResultFiles(part: ResultFile, whole: ResultFile): ResultFile {
  if (part.scenario !== whole.scenario) throw new Error(`cannot merge ${part.scenario} rows into a ${whole.scenario} file`);
  const run = `${part.machine.date}, load ${part.machine.loadAvg1} at start`;
  const fresh = new Map(part.results.map((r) => [r.name, { ...r, run }]));
  const results = whole.results.map((r) => fresh.get(r.name) ?? r);
  for (const [name, row] of fresh) if (!whole.results.some((r) => r.name === name)) results.push(row);
  return { ...whole, description: part.description, results, targets: evaluateTargets(results, whole.targets) };
}

async function main([partPath, wholePath]: string[]): Promise<void> {
  if (partPath === undefined || wholePath === undefined) throw new Error('usage: merge-results <part.json> <whole.json>');
  const read = async (file: string): Promise<ResultFile> => parseResultFile(JSON.parse(await readFile(file, 'utf8')), file);
  const merged = mergeResultFiles(await read(partPath), await read(wholePath));
  await writeFile(wholePath, stringifyResultFile(merged));
  console.log(`merged ${partPath} into ${wholePath}`);
}

// Only when run as a script, not when imported.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
