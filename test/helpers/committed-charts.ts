/**
 * The check behind every "docs match the result files" test of generated
 * charts: docs/img/ holds exactly the `<prefix>*.svg` files the generator
 * draws, each byte for byte, and no stale one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { Chart } from '../../bench/lib/charts.js';
import { CHART_DIR } from '../../bench/lib/charts.js';
import { repoRoot } from '../../bench/lib/result-file.js';

/** Asserts docs/img/`prefix`*.svg are exactly `charts`; `regenerate` names the command that rewrites them. */
export function expectCommittedCharts(prefix: string, charts: readonly Chart[], regenerate: string): void {
  const imgDir = path.join(repoRoot(), 'docs', CHART_DIR);
  expect(charts.length).toBeGreaterThan(0);
  const onDisk = readdirSync(imgDir).filter((n) => n.startsWith(prefix) && n.endsWith('.svg'));
  expect(onDisk.sort(), `stale or missing charts: run ${regenerate}`).toEqual(charts.map((c) => c.file).sort());
  // On failure: a result file or the chart code changed without the command, or an SVG was edited by hand.
  for (const c of charts) expect(readFileSync(path.join(imgDir, c.file), 'utf8'), `${c.file}: run ${regenerate}`).toBe(c.svg);
}
