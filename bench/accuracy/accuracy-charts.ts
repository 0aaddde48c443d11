/**
 * The plots of docs/accuracy.md, drawn from bench/results/accuracy.json alone
 * (pure: no file system): admitted ÷ limit against offered load and against
 * node count (healthy clusters, one hot key), and one timeline of a
 * {1}|{2,3} partition and its heal under each policy (hits admitted per
 * bucket). Rows are grouped by policy and, where rows say it, by lag-aware
 * admission (`lagAware`, or a name ending in "(lag-aware off)"), so rows a
 * later run adds become lines of their own. A plot whose rows are absent is
 * left out. The SVGs go to `docs/img/accuracy-<name>.svg`
 * (accuracy-docs.ts writes them; its test regenerates and compares them).
 */
import type { Chart } from '../lib/charts.js';
import { subtitle } from '../lib/charts.js';
import { renderLineChart, type LinePanel, type LineSeries } from '../lib/line-chart.js';
import type { ResultFile } from '../lib/result-file.js';
import type { ResultRow } from '../lib/result-row.js';
import { decodeSeries } from '../lib/series-figure.js';

/** Every plot file starts so; accuracy-docs removes stale ones with it and leaves other images alone. */
export const ACCURACY_CHART_PREFIX = 'accuracy-';

const COLORS = ['#2b6cb0', '#dd6b20', '#38a169', '#805ad5', '#d53f8c', '#718096'];

/** The window figures plotted, each a panel. */
const FIGURES: ReadonlyArray<[figure: string, title: string]> = [
  ['slidingRatio', 'most in any window'],
  ['alignedRatio', 'most in an aligned span'],
  ['leastRatio', 'least in any window (saturated)'],
];

const num = (row: ResultRow, figure: string): number | null => {
  const v = row[figure];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
};

/** Whether the row had lag-aware admission on, off, or does not say. */
export function lagAware(row: ResultRow): boolean | undefined {
  const v = (row as Record<string, unknown>).lagAware;
  if (v === true || v === 'true' || v === 'on' || v === 1) return true;
  if (v === false || v === 'false' || v === 'off' || v === 0) return false;
  return /\(lag-aware off\)\s*$/.test(row.name) ? false : undefined;
}

/** The row's algorithm: its policy, and whether lag-aware admission was on where the row says. */
export function variant(row: ResultRow): string {
  const policy = typeof row.policy === 'string' ? row.policy : 'local';
  const lag = lagAware(row);
  return lag === undefined ? policy : `${policy}, lag-aware ${lag ? 'on' : 'off'}`;
}

/** A line per `group`, in the order groups first appear, through the points of its rows; lag-aware off dashed. */
function linesBy(rows: readonly ResultRow[], group: (r: ResultRow) => string, points: (r: ResultRow) => Array<readonly [number, number]>): LineSeries[] {
  const names = [...new Set(rows.map(group))];
  return names.map((name, i) => {
    const members = rows.filter((r) => group(r) === name);
    return { name, color: COLORS[i % COLORS.length], dashed: members.every((r) => lagAware(r) === false), points: members.flatMap(points) };
  });
}

/** The runs that rows name in a `run` figure (rows of a run of their own merged into the file: merge-results.ts), each with the names of its rows. */
export function ownRuns(rows: readonly ResultRow[]): Array<{ run: string; names: string[] }> {
  const runs = [...new Set(rows.flatMap((r) => (typeof r.run === 'string' ? [r.run] : [])))];
  return runs.map((run) => ({ run, names: rows.filter((r) => r.run === run).map((r) => r.name) }));
}

/** Where the drawn rows' figures come from: the file's run, and any run of their own. */
function chartSubtitle(file: ResultFile, rows: readonly ResultRow[]): string[] {
  return [...subtitle([file]), ...ownRuns(rows).map((o) => `${o.names.join(', ')}: measured in a run of their own, ${o.run}`)];
}

const healthyHot = (file: ResultFile): ResultRow[] => file.results.filter((r) => r.topology === 'healthy' && r.keys === 'hot' && num(r, 'nodes') !== null && num(r, 'load') !== null);

const ratioPanels = (rows: readonly ResultRow[], group: (r: ResultRow) => string, x: (r: ResultRow) => number): LinePanel[] =>
  FIGURES.map(([figure, title]) => {
    const point = (r: ResultRow): Array<readonly [number, number]> => {
      const v = num(r, figure);
      return v === null ? [] : [[x(r), v]];
    };
    return { title, series: linesBy(rows, group, point).filter((s) => s.points.length > 0) };
  }).filter((p) => p.series.length > 0);

const distinct = (values: readonly number[]): number[] => [...new Set(values)].sort((a, b) => a - b);

/** Against offered load: the one-node floor and every node count measured at two loads or more. */
function byLoad(file: ResultFile): Chart | null {
  const hot = healthyHot(file);
  const loadsAt = (nodes: number): number => new Set(hot.filter((r) => r.nodes === nodes).map((r) => r.load)).size;
  const rows = hot.filter((r) => r.nodes === 1 || loadsAt(r.nodes as number) >= 2);
  const loads = distinct(rows.map((r) => r.load as number));
  if (loads.length < 2) return null;
  const group = (r: ResultRow): string => `${r.nodes} node${r.nodes === 1 ? '' : 's'}, ${variant(r)}`;
  const sizes = distinct(rows.map((r) => r.nodes as number));
  return {
    file: `${ACCURACY_CHART_PREFIX}load.svg`,
    alt: `admitted ÷ limit against offered load, healthy clusters of ${sizes.join(' and ')} nodes, one hot key: most in any window, in an aligned span, and least in any window`,
    sources: [file.scenario],
    svg: renderLineChart({
      title: 'Admitted ÷ limit against offered load (healthy, one hot key)',
      subtitle: chartSubtitle(file, rows),
      panels: ratioPanels(rows, group, (r) => r.load as number),
      xLabel: "offered load, × the limit's rate (log scale)",
      yLabel: '× limit',
      xScale: 'log',
      xTicks: loads,
      formatX: (v) => `${v}×`,
      across: [{ y: 1, label: 'limit' }],
      dodge: 7,
    }),
  };
}

/** Against node count, at the load most rows share (15×). */
function byNodes(file: ResultFile): Chart | null {
  const hot = healthyHot(file);
  const loads = distinct(hot.map((r) => r.load as number));
  const count = (load: number): number => new Set(hot.filter((r) => r.load === load).map((r) => r.nodes)).size;
  const load = loads.reduce<number | null>((best, l) => (best === null || count(l) > count(best) ? l : best), null);
  if (load === null) return null;
  const rows = hot.filter((r) => r.load === load);
  const nodes = distinct(rows.map((r) => r.nodes as number));
  if (nodes.length < 2) return null;
  return {
    file: `${ACCURACY_CHART_PREFIX}nodes.svg`,
    alt: `admitted ÷ limit against node count at ${load}× load, healthy, one hot key: most in any window, in an aligned span, and least in any window`,
    sources: [file.scenario],
    svg: renderLineChart({
      title: `Admitted ÷ limit against node count (healthy, ${load}× load, one hot key)`,
      subtitle: chartSubtitle(file, rows),
      panels: ratioPanels(rows, variant, (r) => r.nodes as number),
      xLabel: 'nodes',
      yLabel: '× limit',
      xTicks: nodes,
      formatX: (v) => String(v),
      across: [{ y: 1, label: 'limit' }],
      dodge: 7,
    }),
  };
}

/**
 * The {1}|{2,3} partition, one line per policy, from the end of the first
 * window (the warm-up spends the whole limit at once) to the last whole
 * bucket, with the cut and the heal: hits admitted per bucket against the
 * limit's rate, and (since a saturated key's hits come in bursts, as budget
 * slides back in) hits in the window's span of buckets ending with each one,
 * against the limit.
 */
function timeline(file: ResultFile): Chart | null {
  const complete = (r: ResultRow): boolean => decodeSeries(r.admittedSeries) !== null && ['intervalMs', 'cutAtMs', 'healAtMs', 'limit', 'windowMs'].every((f) => num(r, f) !== null);
  const rows = file.results.filter((r) => r.topology === 'split' && complete(r));
  if (rows.length === 0) return null;
  const first = rows[0];
  const intervalMs = first.intervalMs as number;
  const windowMs = first.windowMs as number;
  const limit = first.limit as number;
  // One run per line: the first row of each policy with the same bucket, window and limit.
  const same = rows.filter((r, i) => r.intervalMs === intervalMs && r.windowMs === windowMs && r.limit === limit && rows.findIndex((o) => variant(o) === variant(r)) === i);
  const span = Math.round(windowMs / intervalMs);
  const seconds = (bucket: number): number => (bucket * intervalMs) / 1000;
  const counts = (r: ResultRow): number[] => (decodeSeries(r.admittedSeries) as number[]).slice(0, -1);
  const perBucket = linesBy(same, variant, (r) => counts(r).flatMap((c, i) => (i < span ? [] : [[seconds(i + 0.5), c] as const])));
  const perWindow = linesBy(same, variant, (r) => {
    const c = counts(r);
    return c.flatMap((_, i) => (i < span ? [] : [[seconds(i + 1), c.slice(i + 1 - span, i + 1).reduce((a, b) => a + b, 0)] as const]));
  });
  if (perBucket.every((s) => s.points.length === 0)) return null;
  const rate = (limit * intervalMs) / windowMs;
  return {
    file: `${ACCURACY_CHART_PREFIX}partition-timeline.svg`,
    alt: `timeline of a {1}|{2,3} partition and its heal under each partition policy: hits admitted per ${intervalMs} ms bucket against the limit's rate, and in the ${windowMs / 1000} s ending with each bucket against the limit`,
    sources: [file.scenario],
    svg: renderLineChart({
      title: 'Partition {1}|{2,3} and heal: hits admitted over time, all nodes',
      subtitle: [...chartSubtitle(file, same), `${first.nodes} daemons, ${first.load}× load on one hot key, limit ${limit} per ${windowMs / 1000} s in ${span} buckets of ${intervalMs} ms; after the first window (the warm-up)`],
      panels: [
        { title: `per ${intervalMs} ms bucket`, series: perBucket, across: [{ y: rate, label: `the limit's rate: ${rate} per bucket` }] },
        { title: `in the ${windowMs / 1000} s (${span} buckets) ending with each bucket`, series: perWindow, across: [{ y: limit, label: `limit: ${limit}` }] },
      ],
      xLabel: 's, from the start of the bucket in which the load started',
      yLabel: 'hits',
      yFromZero: true,
      ownY: true,
      columns: 1,
      down: [
        { x: (first.cutAtMs as number) / 1000, label: 'cut' },
        { x: (first.healAtMs as number) / 1000, label: 'heal' },
      ],
      panelWidth: 640,
      panelHeight: 170,
    }),
  };
}

/**
 * Every plot the result file supports, in the order docs/accuracy.md shows them.
 *
 * @example
 * for (const c of accuracyCharts(file)) await writeFile(`docs/img/${c.file}`, c.svg);
 */
export function accuracyCharts(file: ResultFile): Chart[] {
  return [byLoad(file), byNodes(file), timeline(file)].filter((c): c is Chart => c !== null);
}
