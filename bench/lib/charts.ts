/**
 * Which charts docs/benchmarks.md shows, built from the result files alone
 * (pure: no file system): consume throughput against its competitors, the
 * daemon's rows against Redis (decisions/s, server CPU per decision, latency),
 * convergence (mesh, soak, every fault) and the fault suite's outcomes. A
 * chart whose result file or rows are absent is left out. The SVGs go to
 * `docs/img/bench-<name>.svg` (render-docs.ts writes them; the docs test
 * regenerates and compares them).
 */
import { renderBarChart, type BarCategory } from './bar-chart.js';
import type { ResultFile } from './result-file.js';
import type { ResultRow } from './result-row.js';
import { renderStackedBarChart, type StackRow } from './stacked-bar-chart.js';

/** One rendered chart. */
export interface Chart {
  /** File name under docs/img/, e.g. `bench-daemon-single.svg`. */
  file: string;
  /** Alt text and caption. */
  alt: string;
  /** The result files it is drawn from, e.g. `['daemon']`. */
  sources: string[];
  svg: string;
}

/** The folder of the charts, relative to docs/. */
export const CHART_DIR = 'img';
/** Every chart file starts so; render-docs removes stale ones with it and leaves other images alone. */
export const CHART_PREFIX = 'bench-';

const OURS = '#2b6cb0';
const REDIS = '#c53030';
const OTHER = ['#dd6b20', '#718096', '#805ad5'];
const P50 = '#90cdf4';
const P99 = '#2c5282';

const num = (row: ResultRow | undefined, figure: string): number | null => {
  const v = row?.[figure];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
};

/** A line per result file: where the figures come from, on what, when, under what load. */
export function subtitle(files: readonly ResultFile[]): string[] {
  return files.map((f) => `bench/results/${f.scenario}.json: ${f.machine.cpu}, ${f.machine.cores} cores, load ${f.machine.loadAvg1} at start, ${f.machine.date.slice(0, 10)}`);
}

function consumeThroughput(file: ResultFile): Chart | null {
  // Rows `<competitor>[-deny]` with `keys` and `opsPerSec`.
  const rows = file.results.filter((r) => num(r, 'opsPerSec') !== null && num(r, 'keys') !== null);
  if (rows.length === 0) return null;
  const competitor = (r: ResultRow): string => r.name.replace(/-deny$/, '');
  const category = (r: ResultRow): string => `${(r.keys as number).toLocaleString('en-US')} key${r.keys === 1 ? '' : 's'}${r.name.endsWith('-deny') ? ', deny path' : ''}`;
  const competitors = [...new Set(rows.map(competitor))];
  const categories = [...new Set(rows.map(category))];
  let other = 0;
  return {
    file: `${CHART_PREFIX}consume-throughput.svg`,
    alt: 'consume: decisions per second of tallymesh and its competitors, in process',
    sources: [file.scenario],
    svg: renderBarChart({
      title: 'In-process decisions per second (consume)',
      subtitle: subtitle([file]),
      categories: categories.map((label) => ({ label })),
      panels: [
        {
          title: 'calls/s',
          series: competitors.map((name) => ({
            name,
            color: name === 'tallymesh' ? OURS : OTHER[other++ % OTHER.length],
            values: categories.map((c) => num(rows.find((r) => competitor(r) === name && category(r) === c), 'opsPerSec')),
          })),
        },
      ],
    }),
  };
}

/** The daemon's throughput rows of one shape; rows without `shape` (older files) by their batch size. */
function daemonShape(file: ResultFile, shape: 'single' | 'batched'): Chart | null {
  const rows = file.results.filter((r) => num(r, 'decisionsPerSec') !== null && num(r, 'batchSize') !== null && (r.shape ?? ((r.batchSize as number) > 1 ? 'batched' : 'single')) === shape);
  if (rows.length === 0) return null;
  const isRedis = (r: ResultRow): boolean => (r.server ?? (r.name.startsWith('redis') ? 'redis' : 'tallymesh')) === 'redis';
  const categories: BarCategory[] = rows.map((r) => ({ label: r.name, color: isRedis(r) ? REDIS : OURS }));
  const batch = rows[0].batchSize;
  const title = shape === 'single' ? 'One decision per call: tallymesh daemon against Redis' : `${batch} decisions per message: tallymesh daemon against Redis pipelines`;
  return {
    file: `${CHART_PREFIX}daemon-${shape}.svg`,
    alt: `daemon: ${shape === 'single' ? 'one decision per call' : `${batch} decisions per message`} — decisions/s, server CPU per decision and latency, tallymesh against Redis`,
    sources: [file.scenario],
    svg: renderBarChart({
      title,
      subtitle: subtitle([file]),
      categories,
      legend: [
        { name: 'tallymesh', color: OURS },
        { name: 'Redis', color: REDIS },
      ],
      panels: [
        { title: 'decisions/s, higher is better', series: [{ name: 'decisions/s', values: rows.map((r) => num(r, 'decisionsPerSec')) }] },
        { title: 'server CPU µs/decision, lower is better', series: [{ name: 'µs', values: rows.map((r) => num(r, 'serverCpuUsPerDecision')) }] },
        {
          title: `ms per ${shape === 'single' ? 'call' : 'message'}, p50 and p99`,
          series: [
            { name: 'p50', color: P50, values: rows.map((r) => num(r, 'p50Ms')) },
            { name: 'p99', color: P99, values: rows.map((r) => num(r, 'p99Ms')) },
          ],
        },
      ],
    }),
  };
}

function convergence(byName: ReadonlyMap<string, ResultFile>): Chart | null {
  const categories: BarCategory[] = [];
  const values: number[] = [];
  const used: ResultFile[] = [];
  const add = (file: ResultFile | undefined, section: string, rows: Array<[string, number | null]>): void => {
    const present = rows.filter((r): r is [string, number] => r[1] !== null);
    if (file === undefined || present.length === 0) return;
    used.push(file);
    present.forEach(([label, v], i) => {
      categories.push({ label, color: OURS, section: i === 0 ? section : undefined });
      values.push(v);
    });
  };
  const mesh = byName.get('mesh');
  const meshRow = mesh?.results.find((r) => r.name === 'convergence');
  add(mesh, 'mesh: a hit admitted on one node until every other node counts it', [
    ['p50', num(meshRow, 'p50Ms')],
    ['p99', num(meshRow, 'p99Ms')],
  ]);
  const soak = byName.get('soak');
  add(soak, 'soak: end of the run until every daemon is exact', [['3 daemons', num(soak?.results.find((r) => r.name === 'convergence'), 'convergenceMs')]]);
  const faults = byName.get('faults');
  add(
    faults,
    'faults: heal until every daemon is exact',
    (faults?.results ?? []).map((r) => [r.name, num(r, 'convergenceMs')]),
  );
  if (categories.length === 0) return null;
  return {
    file: `${CHART_PREFIX}convergence.svg`,
    alt: 'convergence times in milliseconds: mesh gossip, soak and after every fault (log scale)',
    sources: used.map((f) => f.scenario),
    svg: renderBarChart({
      title: 'Convergence, ms (log scale)',
      subtitle: subtitle(used),
      categories,
      panels: [{ title: 'ms', scale: 'log', series: [{ name: 'ms', values }] }],
    }),
  };
}

function faultOutcomes(file: ResultFile): Chart | null {
  const rows = file.results.filter((r) => num(r, 'sent') !== null && num(r, 'admitted') !== null);
  if (rows.length === 0) return null;
  const parts = [
    { name: 'admitted', figure: 'admitted', color: '#38a169' },
    { name: 'denied', figure: 'denied', color: '#a0aec0' },
    { name: 'indeterminate', figure: 'indeterminate', color: '#d69e2e' },
    { name: 'unavailable', figure: 'unavailable', color: '#dd6b20' },
    { name: 'errors', figure: 'errors', color: '#c53030' },
  ];
  const stack: StackRow[] = rows.map((r) => {
    const exact = r.exact === 'yes';
    const ratio = num(r, 'admittedRatio');
    const ratioText = ratio === null ? '' : `; busiest window ${ratio.toFixed(2)}× the limit`;
    return {
      label: r.name,
      values: parts.map((p) => num(r, p.figure) ?? 0),
      note: exact ? `exact${ratioText}` : `NOT exact: lost ${num(r, 'lost') ?? '?'}, overcount ${num(r, 'overcount') ?? '?'}`,
      noteColor: exact ? '#276749' : '#c53030',
    };
  });
  return {
    file: `${CHART_PREFIX}faults-outcomes.svg`,
    alt: "fault suite: what happened to the requests sent during each fault, and whether every daemon's counts were exact after the heal",
    sources: [file.scenario],
    svg: renderStackedBarChart({ title: 'Requests during each fault, and the counts after it', subtitle: subtitle([file]), parts, rows: stack }),
  };
}

/**
 * Every chart the result files support, in the order the docs show them.
 *
 * @example
 * for (const c of chartsFromResults(files)) await writeFile(`docs/img/${c.file}`, c.svg);
 */
export function chartsFromResults(files: readonly ResultFile[]): Chart[] {
  const byName = new Map(files.map((f) => [f.scenario, f]));
  const charts: Array<Chart | null> = [];
  const consume = byName.get('consume');
  if (consume) charts.push(consumeThroughput(consume));
  const daemon = byName.get('daemon');
  if (daemon) charts.push(daemonShape(daemon, 'single'), daemonShape(daemon, 'batched'));
  charts.push(convergence(byName));
  const faults = byName.get('faults');
  if (faults) charts.push(faultOutcomes(faults));
  return charts.filter((c): c is Chart => c !== null);
}
