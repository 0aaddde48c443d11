/**
 * `npm run bench:docs`: regenerates `docs/benchmarks.md` from every
 * `bench/results/*.json`. The document is never edited by hand (like pino's
 * benchmark docs), so the numbers in it always come from a recorded run.
 * Runs from the command line; the fault suite imports
 * {@link writeBenchmarksDoc} to do the same after it writes its results.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chartsFromResults, CHART_DIR, CHART_PREFIX } from './charts.js';
import { parseResultFile, repoRoot, resultsDir, type ResultFile } from './result-file.js';
import { renderBenchmarksMarkdown } from './render-markdown.js';
import { writeCharts } from './write-charts.js';

/** Reads and validates every result file; a malformed one aborts with its name. */
export async function readResultFiles(dir: string = resultsDir()): Promise<ResultFile[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return Promise.all(
    names.map(async (name) => {
      const file = path.join(dir, name);
      return parseResultFile(JSON.parse(await readFile(file, 'utf8')), file);
    }),
  );
}

/**
 * Writes `docs/benchmarks.md` and its charts (`docs/img/bench-*.svg`, stale
 * ones removed) from every result file; returns the document's path and how
 * many result files and charts it wrote.
 *
 * @example
 * const { path, files } = await writeBenchmarksDoc();
 */
export async function writeBenchmarksDoc(): Promise<{ path: string; files: number; charts: number }> {
  const files = await readResultFiles();
  const docs = path.join(repoRoot(), 'docs');
  const out = path.join(docs, 'benchmarks.md');
  const charts = chartsFromResults(files);
  await writeCharts(path.join(docs, CHART_DIR), CHART_PREFIX, charts);
  await writeFile(out, renderBenchmarksMarkdown(files, charts));
  return { path: out, files: files.length, charts: charts.length };
}

// Only when run as a script (`npm run bench:docs`), not when imported.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  writeBenchmarksDoc()
    .then(({ path: out, files, charts }) => console.log(`wrote ${path.relative(process.cwd(), out) || out} and ${charts} chart(s) from ${files} result file(s)`))
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    });
}
