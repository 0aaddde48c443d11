/**
 * Writes a document's charts into docs/img/ and removes the stale ones: the
 * SVGs whose names start with the document's prefix (`bench-`, `accuracy-`)
 * that it no longer draws, leaving every other image alone.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Chart } from './charts.js';

/**
 * Writes `charts` into `dir` (created when missing) and removes `<prefix>*.svg` files not among them.
 *
 * @example
 * await writeCharts(path.join(repoRoot(), 'docs', CHART_DIR), CHART_PREFIX, chartsFromResults(files));
 */
export async function writeCharts(dir: string, prefix: string, charts: readonly Chart[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  const keep = new Set(charts.map((c) => c.file));
  for (const name of await readdir(dir)) {
    if (name.startsWith(prefix) && name.endsWith('.svg') && !keep.has(name)) await rm(path.join(dir, name));
  }
  for (const c of charts) await writeFile(path.join(dir, c.file), c.svg);
}
