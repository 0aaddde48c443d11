/**
 * The dependency-free SVG charts of docs/benchmarks.md: well-formed,
 * escaped, deterministic, and drawn to scale (a bar's length is its value on
 * the axis), with what is missing shown as missing rather than as zero.
 */
import { describe, expect, it } from 'vitest';
import { linearAxis, logAxis, niceCeil, shortNumber } from '../../../bench/lib/axis.js';
import { renderBarChart, type BarChart } from '../../../bench/lib/bar-chart.js';
import { chartsFromResults } from '../../../bench/lib/charts.js';
import type { MachineInfo } from '../../../bench/lib/machine.js';
import { buildResultFile } from '../../../bench/lib/result-file.js';
import { renderStackedBarChart } from '../../../bench/lib/stacked-bar-chart.js';
import { coord, escapeXml, svgDocument } from '../../../bench/lib/svg.js';

const MACHINE: MachineInfo = { cpu: 'Test CPU', cores: 2, memoryBytes: 2 ** 34, node: 'v20.0.0', os: 'Linux', date: '2026-01-02T03:04:05.000Z', loadAvg1: 1.5 };

/** Every `<rect>` with a `<title>` (the bars), as [title, width]. */
function bars(svg: string): Array<[string, number]> {
  return [...svg.matchAll(/<rect [^>]*width="([\d.]+)"[^>]*><title>([^<]*)<\/title><\/rect>/g)].map((m) => [m[2], Number(m[1])]);
}

/** Elements opened and closed in order: a cheap well-formedness check for the markup the writer produces. */
function balanced(svg: string): boolean {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)(\w+)[^>]*?(\/?)>/g)) {
    if (m[3] === '/') continue;
    if (m[1] === '/') {
      if (stack.pop() !== m[2]) return false;
    } else stack.push(m[2]);
  }
  return stack.length === 0;
}

describe('svg writer', () => {
  it('escapes markup in text and attributes', () => {
    expect(escapeXml(`a<b & "c" 'd'>`)).toBe('a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;');
    const svg = svgDocument(10, 10, '<script>alert(1)</script>', []);
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;');
  });

  it('writes coordinates with one decimal at most and refuses non-finite ones', () => {
    expect([coord(1.26), coord(-0.01), coord(300)]).toEqual(['1.3', '0', '300']);
    expect(() => coord(Number.NaN)).toThrow(RangeError);
  });
});

describe('axes', () => {
  it('rounds a linear axis up to 1, 2 or 5 × a power of ten', () => {
    expect([niceCeil(0.3), niceCeil(13), niceCeil(20), niceCeil(4_100)]).toEqual([0.5, 20, 20, 5_000]);
    expect(linearAxis(56_627).ticks).toEqual([0, 20_000, 40_000, 60_000]);
    expect(linearAxis(56_627).at(30_000)).toBeCloseTo(0.5);
  });

  it('spans whole decades on a log axis and puts each at an equal step', () => {
    const axis = logAxis(3, 6_574);
    expect(axis.ticks).toEqual([1, 10, 100, 1_000, 10_000]);
    expect(axis.at(100)).toBeCloseTo(0.5);
    expect(axis.at(0)).toBe(0);
  });

  it('labels figures with three significant digits', () => {
    expect([shortNumber(951_954), shortNumber(56_627), shortNumber(7.416), shortNumber(0.0654), shortNumber(2_500_000)]).toEqual(['952k', '56.6k', '7.42', '0.0654', '2.5M']);
  });
});

describe('bar chart', () => {
  const chart: BarChart = {
    title: 'A & B',
    subtitle: ['from x.json'],
    categories: [
      { label: 'redis', color: '#c00', section: 'single' },
      { label: 'tallymesh', color: '#00c' },
    ],
    panels: [
      { title: 'decisions/s', series: [{ name: 'd', values: [50_000, 100_000] }] },
      { title: 'cpu', series: [{ name: 'µs', values: [26, null] }] },
    ],
  };

  it('draws each bar in proportion to its value on the axis, in its category colour', () => {
    const svg = renderBarChart(chart);
    const [redis, ours] = bars(svg).filter(([t]) => t.includes('decisions/s'));
    expect(redis[0]).toBe('redis — decisions/s: 50k');
    expect(ours[1] / redis[1]).toBeCloseTo(2, 1);
    expect(svg).toMatch(/fill="#c00"><title>redis — decisions\/s/);
    expect(svg).toMatch(/fill="#00c"><title>tallymesh — decisions\/s/);
  });

  it('shows a missing value as a dash, not as a zero-length bar', () => {
    const cpuBars = bars(renderBarChart(chart)).filter(([t]) => t.includes('cpu'));
    expect(cpuBars.map(([t]) => t)).toEqual(['redis — cpu: 26']);
    expect(renderBarChart(chart)).toContain('>—</text>');
  });

  it('is well formed and the same bytes every time', () => {
    const svg = renderBarChart(chart);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(balanced(svg)).toBe(true);
    expect(renderBarChart(chart)).toBe(svg);
    expect(svg).toContain('<title>A &amp; B</title>');
  });
});

describe('stacked bar chart', () => {
  it('splits each bar into its parts as shares of the whole, with the note after it', () => {
    const svg = renderStackedBarChart({
      title: 'outcomes',
      parts: [
        { name: 'admitted', color: '#0a0' },
        { name: 'denied', color: '#aaa' },
      ],
      rows: [
        { label: 'pause', values: [75, 25], note: 'exact' },
        { label: 'idle', values: [0, 0] },
      ],
    });
    const b = bars(svg);
    expect(b.map(([t]) => t)).toEqual(['pause — admitted: 75 (75 %)', 'pause — denied: 25 (25 %)']);
    expect(b[0][1] / b[1][1]).toBeCloseTo(3, 1);
    expect(svg).toContain('>exact</text>');
    expect(balanced(svg)).toBe(true);
  });
});

describe('charts from result files', () => {
  it('draws the daemon rows by shape, Redis in its own colour, and skips what the files lack', () => {
    const daemon = buildResultFile(
      'daemon',
      { description: '', targets: [] },
      [
        { name: 'redis-bucketed-counter', shape: 'single', server: 'redis', decisionsPerSec: 28_000, batchSize: 1, p50Ms: 1, p99Ms: 2, serverCpuUsPerDecision: 26 },
        { name: 'resp-single', shape: 'single', server: 'tallymesh', decisionsPerSec: 61_000, batchSize: 1, p50Ms: 0.4, p99Ms: 3.6, serverCpuUsPerDecision: 5.3 },
        { name: 'stream', shape: 'batched', server: 'tallymesh', decisionsPerSec: 950_000, batchSize: 100, p50Ms: 2.5, p99Ms: 19, serverCpuUsPerDecision: 0.45 },
        { name: 'rss', keys: 1, rssBytes: 1 },
      ],
      MACHINE,
    );
    const charts = chartsFromResults([daemon]);
    expect(charts.map((c) => c.file)).toEqual(['bench-daemon-single.svg', 'bench-daemon-batched.svg']);
    const single = bars(charts[0].svg).map(([t]) => t);
    expect(single).toContain('resp-single — server CPU µs/decision, lower is better: 5.3');
    expect(single).toContain('redis-bucketed-counter — ms per call, p50 and p99 (p99): 2');
    expect(charts[0].svg).toContain('load 1.5 at start, 2026-01-02');
    expect(chartsFromResults([])).toEqual([]);
  });

  it('marks a fault whose counts were not exact', () => {
    const faults = buildResultFile(
      'faults',
      { description: '', targets: [] },
      [{ name: 'pause', sent: 10, admitted: 6, denied: 4, exact: 'no', lost: 2, overcount: 0, convergenceMs: 8 }],
      MACHINE,
    );
    const [convergence, outcomes] = chartsFromResults([faults]);
    expect(convergence.file).toBe('bench-convergence.svg');
    expect(outcomes.svg).toContain('NOT exact: lost 2, overcount 0');
  });
});
