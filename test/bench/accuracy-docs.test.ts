/**
 * The plots and the generated section of docs/accuracy.md
 * (bench/accuracy/accuracy-charts.ts, accuracy-docs.ts): drawn from the
 * result file alone, robust to rows a later run adds (lag-aware on and off),
 * and committed exactly as `npm run bench:accuracy-docs` renders them from
 * bench/results/accuracy.json.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { accuracyCharts, ACCURACY_CHART_PREFIX, variant } from '../../bench/accuracy/accuracy-charts.js';
import { renderAccuracySection, spliceSection } from '../../bench/accuracy/accuracy-docs.js';
import { rangeAxis } from '../../bench/lib/axis.js';
import type { MachineInfo } from '../../bench/lib/machine.js';
import { buildResultFile, parseResultFile, repoRoot, resultsDir, stringifyResultFile } from '../../bench/lib/result-file.js';
import type { ResultRow } from '../../bench/lib/result-row.js';
import { decodeSeries, encodeSeries } from '../../bench/lib/series-figure.js';
import { tablesFromRows } from '../../bench/lib/table.js';
import { expectCommittedCharts } from '../helpers/committed-charts.js';

const MACHINE: MachineInfo = { cpu: 'Test CPU', cores: 2, memoryBytes: 2 ** 34, node: 'v20.0.0', os: 'Linux', date: '2026-01-02T03:04:05.000Z', loadAvg1: 1.5 };

const healthy = (nodes: number, load: number, policy: string, sliding: number, extra: Partial<ResultRow> = {}): ResultRow => ({
  name: `${nodes} node${nodes > 1 ? 's' : ''} ${load}x hot ${policy}`,
  topology: 'healthy',
  nodes,
  load,
  keys: 'hot',
  policy,
  slidingRatio: sliding,
  alignedRatio: 1,
  leastRatio: 0.9,
  ...extra,
});

/** 20 buckets of 500 ms: the warm-up window (10 buckets), then 100 a bucket, `cut` during the cut, and a partial last bucket. */
const split = (policy: string, cut: number): ResultRow => ({
  name: `split ${policy}`,
  topology: 'split',
  nodes: 3,
  load: 15,
  keys: 'hot',
  policy,
  limit: 1_000,
  windowMs: 5_000,
  intervalMs: 500,
  cutAtMs: 6_000,
  healAtMs: 8_000,
  admittedSeries: encodeSeries([1_000, ...Array<number>(9).fill(0), 100, 100, cut, cut, cut, cut, 100, 100, 100, 7]),
});

const ROWS: ResultRow[] = [
  healthy(1, 15, 'local', 1.01),
  healthy(3, 15, 'local', 1.05),
  healthy(3, 100, 'local', 1.7),
  healthy(5, 15, 'local', 1.2),
  healthy(3, 15, 'share', 1.09),
  { ...healthy(3, 15, 'zipf', 1.3), keys: 'zipf' },
  split('local', 200),
  split('share', 100),
];

const file = (rows: ResultRow[]) => parseResultFile(JSON.parse(stringifyResultFile(buildResultFile('accuracy', { description: '', targets: [] }, rows, MACHINE))));

/** Every dot, as its tooltip. */
const dots = (svg: string): string[] => [...svg.matchAll(/<circle [^>]*><title>([^<]*)<\/title><\/circle>/g)].map((m) => m[1]);
/** Every line, as [tooltip, points]. */
const lines = (svg: string): Array<[string, string]> => [...svg.matchAll(/<polyline points="([^"]*)"[^>]*><title>([^<]*)<\/title><\/polyline>/g)].map((m) => [m[2], m[1]]);

describe('accuracy plots', () => {
  it('draws admitted ÷ limit against load and node count from the healthy hot-key rows, and the split timeline', () => {
    const [load, nodes, timeline] = accuracyCharts(file(ROWS));
    expect([load.file, nodes.file, timeline.file]).toEqual(['accuracy-load.svg', 'accuracy-nodes.svg', 'accuracy-partition-timeline.svg']);
    // Against load: the one-node floor and 3 nodes (measured at two loads); not 5 nodes (one load) nor the Zipf row.
    expect(dots(load.svg).filter((t) => t.startsWith('most in any window'))).toEqual([
      'most in any window, 1 node, local: 15× → 1.01',
      'most in any window, 3 nodes, local: 15× → 1.05',
      'most in any window, 3 nodes, local: 100× → 1.7',
      'most in any window, 3 nodes, share: 15× → 1.09',
    ]);
    // Against node count at 15×: a line per policy.
    expect(dots(nodes.svg).filter((t) => t.startsWith('most in any window'))).toEqual([
      'most in any window, local: 1 → 1.01',
      'most in any window, local: 3 → 1.05',
      'most in any window, local: 5 → 1.2',
      'most in any window, share: 3 → 1.09',
    ]);
    expect(nodes.svg).toContain('>limit</text>');
  });

  it('draws the timeline after the warm-up window and before the partial last bucket, with the cut, the heal, the limit and its rate', () => {
    const timeline = accuracyCharts(file(ROWS))[2];
    const drawn = lines(timeline.svg);
    expect(drawn.map(([t]) => t)).toEqual([
      'per 500 ms bucket, local',
      'per 500 ms bucket, share',
      'in the 5 s (10 buckets) ending with each bucket, local',
      'in the 5 s (10 buckets) ending with each bucket, share',
    ]);
    // Buckets 10 … 18: nine points; the first of the cut (200) sits twice as high above the axis as one before it (100).
    const points = drawn[0][1].split(' ').map((p) => p.split(',').map(Number));
    expect(points).toHaveLength(9);
    const axisY = Math.min(...[...timeline.svg.matchAll(/<line x1="[\d.]+" y1="([\d.]+)" x2="[\d.]+" y2="\1" stroke="#4a5568"/g)].map((m) => Number(m[1])));
    expect((axisY - points[2][1]) / (axisY - points[0][1])).toBeCloseTo(2, 1);
    expect(timeline.svg.match(/>cut<\/text>/g)).toHaveLength(2);
    expect(timeline.svg.match(/>heal<\/text>/g)).toHaveLength(2);
    expect(timeline.svg).toContain('the limit&#39;s rate: 100 per bucket');
    expect(timeline.svg).toContain('limit: 1000');
  });

  it('gives rows with lag-aware admission off lines of their own, dashed', () => {
    const rows = [
      ...ROWS,
      healthy(3, 15, 'local', 1.04, { name: '3 nodes 15x hot local (lag-aware off)', lagAware: 'false' }),
      healthy(1, 15, 'local', 1.02, { name: '1 node 15x hot local (lag-aware off)' }),
      { ...split('local', 210), name: 'split local (lag-aware off)', lagAware: 0 },
    ];
    expect(rows.slice(-3).map(variant)).toEqual(['local, lag-aware off', 'local, lag-aware off', 'local, lag-aware off']);
    const [, nodes, timeline] = accuracyCharts(file(rows));
    expect(dots(nodes.svg).filter((t) => t.startsWith('most in any window') && t.includes('lag-aware off'))).toEqual([
      'most in any window, local, lag-aware off: 1 → 1.02',
      'most in any window, local, lag-aware off: 3 → 1.04',
    ]);
    expect(nodes.svg).toMatch(/stroke-dasharray="5 3"><title>most in any window, local, lag-aware off<\/title>/);
    expect(lines(timeline.svg).map(([t]) => t).filter((t) => t.startsWith('per 500 ms'))).toEqual(['per 500 ms bucket, local', 'per 500 ms bucket, share', 'per 500 ms bucket, local, lag-aware off']);
  });

  it('leaves out a plot whose rows are absent', () => {
    expect(accuracyCharts(file([]))).toEqual([]);
    const noSeries = ROWS.map((r) => ({ ...r, admittedSeries: undefined })).map((r) => JSON.parse(JSON.stringify(r)) as ResultRow);
    expect(accuracyCharts(file(noSeries)).map((c) => c.file)).toEqual(['accuracy-load.svg', 'accuracy-nodes.svg']);
  });

  it('is the same bytes every time, on a ratio axis that needs not start at zero', () => {
    expect(accuracyCharts(file(ROWS))).toEqual(accuracyCharts(file(ROWS)));
    expect(rangeAxis(0.51, 2.08).ticks).toEqual([0.5, 1, 1.5, 2, 2.5]);
    expect(rangeAxis(1, 1).ticks.length).toBeGreaterThan(1);
  });
});

describe('series figures', () => {
  it('round-trip through a string figure and stay out of tables', () => {
    expect(encodeSeries([100, 98.25, -0.01], 1)).toBe('100,98.3,0');
    expect(decodeSeries('100,98.3,0')).toEqual([100, 98.3, 0]);
    expect([decodeSeries(3), decodeSeries('a,b'), decodeSeries(undefined)]).toEqual([null, null, null]);
    const [table] = tablesFromRows([{ name: 'split local', cutAtMs: 11_000, admittedSeries: '1,2,3' }]);
    expect(table.columns).toEqual(['name', 'cutAtMs']);
  });
});

describe('docs/accuracy.md', () => {
  const committed = () => parseResultFile(JSON.parse(readFileSync(path.join(resultsDir(), 'accuracy.json'), 'utf8')), 'accuracy.json');

  it('has exactly the section `npm run bench:accuracy-docs` renders from bench/results/accuracy.json', () => {
    const doc = readFileSync(path.join(repoRoot(), 'docs', 'accuracy.md'), 'utf8');
    expect(doc).toContain('<!-- accuracy-results:begin');
    // On failure: accuracy.json or the rendering code changed without `npm run bench:accuracy-docs`, or the section was edited by hand.
    expect(doc).toBe(spliceSection(doc, renderAccuracySection(committed())));
  });

  it('has exactly the plots `npm run bench:accuracy-docs` draws from bench/results/accuracy.json, byte for byte, and no stale one', () => {
    expectCommittedCharts(ACCURACY_CHART_PREFIX, accuracyCharts(committed()), '`npm run bench:accuracy-docs`');
  });
});
