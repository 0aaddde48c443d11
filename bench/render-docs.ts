/**
 * `npm run bench:docs`: regenerates `docs/benchmarks.md` from every
 * `bench/results/*.json`. The document is never edited by hand (like pino's
 * benchmark docs), so the numbers in it always come from a recorded run.
 */
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseResultFile, repoRoot, resultsDir, type ResultFile } from './result-file.js';
import { renderBenchmarksMarkdown } from './render-markdown.js';

/** Reads and validates every result file; a malformed one aborts with its name. */
async function readResultFiles(dir: string = resultsDir()): Promise<ResultFile[]> {
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

async function main(): Promise<void> {
  const files = await readResultFiles();
  const out = path.join(repoRoot(), 'docs', 'benchmarks.md');
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, renderBenchmarksMarkdown(files));
  console.log(`wrote ${path.relative(process.cwd(), out) || out} from ${files.length} result file(s)`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
