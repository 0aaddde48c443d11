import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MachineInfo } from '../../../bench/lib/machine.js';
import { formatResultFileForConsole } from '../../../bench/lib/render-console.js';
import { CHART_PREFIX, chartsFromResults } from '../../../bench/lib/charts.js';
import { GENERATED_NOTICE, renderBenchmarksMarkdown } from '../../../bench/lib/render-markdown.js';
import { buildResultFile, parseResultFile, repoRoot, resultsDir, stringifyResultFile, type ResultFile } from '../../../bench/lib/result-file.js';
import type { ResultRow } from '../../../bench/lib/scenario.js';
import { formatFigure, formatTextTable, tablesFromRows } from '../../../bench/lib/table.js';
import { evaluateTargets, type Target } from '../../../bench/lib/targets.js';
import { expectCommittedCharts } from '../../helpers/committed-charts.js';

const MACHINE: MachineInfo = {
  cpu: 'Test CPU @ 3.0GHz',
  cores: 8,
  memoryBytes: 16 * 2 ** 30,
  node: 'v20.19.0',
  os: 'Linux 6.1.0 x64',
  date: '2025-01-02T03:04:05.000Z',
  loadAvg1: 0.25,
};

const ROWS: ResultRow[] = [
  { name: 'tallymesh', keys: 1, opsPerSec: 12_345_678 },
  { name: 'rate-limiter-flexible', keys: 1, opsPerSec: 2_000_000 },
  { name: 'tallymesh', keys: 1_000_000, bytesPerKey: 150.4 },
  { name: 'ratios', vsRateLimiterFlexible_1: 6.173 },
];

const TARGETS: Target[] = [
  { id: 'vs-rlf', description: 'tallymesh ≥ 2× rlf', row: { name: 'ratios' }, figure: 'vsRateLimiterFlexible_1', op: '>=', threshold: 2 },
  { id: 'bytes', description: 'memory ≤ 100 B/key', row: { name: 'tallymesh', keys: 1_000_000 }, figure: 'bytesPerKey', op: '<=', threshold: 100 },
  { id: 'absent', description: 'daemon ≥ 1', row: { name: 'daemon' }, figure: 'opsPerSec', op: '>=', threshold: 1 },
];

function sample(scenario = 'consume'): ResultFile {
  return buildResultFile(scenario, { description: 'Local decisions.', targets: TARGETS }, ROWS, MACHINE);
}

describe('evaluateTargets', () => {
  it('selects the row by every listed field and compares its figure', () => {
    const [vsRlf, bytes, absent] = evaluateTargets(ROWS, TARGETS);
    expect(vsRlf).toMatchObject({ actual: 6.173, met: true });
    expect(bytes).toMatchObject({ actual: 150.4, met: false });
    expect(absent).toMatchObject({ actual: null, met: false });
  });

  it('counts a figure equal to the threshold as met, for both operators', () => {
    const rows = [{ name: 'r', x: 2 }];
    const [ge, le] = evaluateTargets(rows, [
      { ...TARGETS[0], row: { name: 'r' }, figure: 'x', op: '>=', threshold: 2 },
      { ...TARGETS[0], row: { name: 'r' }, figure: 'x', op: '<=', threshold: 2 },
    ]);
    expect([ge.met, le.met]).toEqual([true, true]);
  });
});

describe('renderBenchmarksMarkdown', () => {
  it('renders the notice, machine line, one table per row shape and the target verdicts', () => {
    expect(renderBenchmarksMarkdown([sample()], [])).toBe(
      `${GENERATED_NOTICE}

## consume

Local decisions.

Machine: Test CPU @ 3.0GHz, 8 cores, 16.0 GiB RAM, Node v20.19.0, Linux 6.1.0 x64, load 0.25 at start, 2025-01-02T03:04:05.000Z

| name | keys | opsPerSec |
|:---|---:|---:|
| tallymesh | 1 | 12,345,678 |
| rate-limiter-flexible | 1 | 2,000,000 |

| name | keys | bytesPerKey |
|:---|---:|---:|
| tallymesh | 1,000,000 | 150 |

| name | vsRateLimiterFlexible_1 |
|:---|---:|
| ratios | 6.17 |

### Targets (1 of 3 met)

| target | row | figure | wanted | measured | verdict |
|:---|:---|:---|:---|---:|:---|
| tallymesh ≥ 2× rlf | name=ratios | vsRateLimiterFlexible_1 | ≥ 2 | 6.17 | met |
| memory ≤ 100 B/key | name=tallymesh, keys=1000000 | bytesPerKey | ≤ 100 | 150 | NOT met |
| daemon ≥ 1 | name=daemon | opsPerSec | ≥ 1 | — | missing |
`,
    );
  });

  it('says the file is generated and how to regenerate it', () => {
    const md = renderBenchmarksMarkdown([]);
    expect(md).toMatch(/do not edit by hand/i);
    expect(md).toContain('npm run bench:docs');
    expect(md).toContain('npm run bench -- <scenario>');
    expect(md).toContain('No results yet');
  });

  it('orders scenarios by name whatever order the files come in', () => {
    const md = renderBenchmarksMarkdown([sample('mesh'), sample('consume'), sample('daemon')]);
    const at = (s: string): number => md.indexOf(`## ${s}\n`);
    expect(at('consume')).toBeLessThan(at('daemon'));
    expect(at('daemon')).toBeLessThan(at('mesh'));
  });

  it('renders rows of any scenario, escaping pipes in labels', () => {
    const file = buildResultFile('daemon', { description: '', targets: [] }, [{ name: 'http|batch', p99Ms: 0.0123, mode: 'a|b' }], MACHINE);
    const md = renderBenchmarksMarkdown([file]);
    expect(md).toContain('| name | p99Ms | mode |\n|:---|---:|:---|\n| http\\|batch | 0.0123 | a\\|b |');
    expect(md).not.toContain('### Targets');
  });

  it('shows every chart as an image under img/ with its caption and sources, before the scenarios', () => {
    const md = renderBenchmarksMarkdown([sample()]);
    const charts = chartsFromResults([sample()]);
    expect(charts.map((c) => c.file)).toEqual(['bench-consume-throughput.svg']);
    expect(md).toContain(`## Charts`);
    expect(md).toContain(`![${charts[0].alt}](img/bench-consume-throughput.svg)`);
    expect(md).toContain(`![${charts[0].alt}](img/bench-consume-throughput.svg)\n\n*From bench/results/consume.json.*`);
    expect(md.indexOf('## Charts')).toBeLessThan(md.indexOf('## consume'));
  });

  it('quotes a listing from the result file in a fence its text cannot close', () => {
    const text = 'local a = 1\n-- ``` not the end\n';
    const file = buildResultFile('daemon', { description: '', targets: [], appendix: [{ title: 'Redis script: x', file: 'bench/daemon/x.lua', language: 'lua', text }] }, [], MACHINE);
    const md = renderBenchmarksMarkdown([parseResultFile(JSON.parse(stringifyResultFile(file)))], []);
    expect(md).toContain('### Redis script: x\n\n`bench/daemon/x.lua`, as the run loaded it:\n\n````lua\nlocal a = 1\n-- ``` not the end\n````');
  });
});

describe('result file', () => {
  it('survives a JSON round trip through the validator unchanged', () => {
    const file = sample();
    const text = stringifyResultFile(file);
    expect(text.endsWith('}\n')).toBe(true);
    expect(parseResultFile(JSON.parse(text))).toEqual(file);
  });

  it('has the shape { scenario, machine, results, targets } the docs are built from', () => {
    const file = sample();
    expect(Object.keys(file).sort()).toEqual(['description', 'machine', 'results', 'scenario', 'targets']);
    expect(Object.keys(file.machine).sort()).toEqual(['cores', 'cpu', 'date', 'loadAvg1', 'memoryBytes', 'node', 'os']);
    expect(file.results).toBe(ROWS);
    expect(file.targets.map((t) => [t.id, t.met])).toEqual([
      ['vs-rlf', true],
      ['bytes', false],
      ['absent', false],
    ]);
  });

  it.each([
    ['scenario', (f: Record<string, unknown>) => delete f.scenario],
    ['machine.cpu', (f: Record<string, unknown>) => delete (f.machine as Record<string, unknown>).cpu],
    ['results', (f: Record<string, unknown>) => (f.results = {})],
    ['results[0].name', (f: Record<string, unknown>) => delete (f.results as Record<string, unknown>[])[0].name],
    // NaN becomes null in JSON: a ratio over a missing figure must not slip through.
    ['results[3].vsRateLimiterFlexible_1', (f: Record<string, unknown>) => ((f.results as Record<string, unknown>[])[3].vsRateLimiterFlexible_1 = null)],
    ['targets[0].op', (f: Record<string, unknown>) => ((f.targets as Record<string, unknown>[])[0].op = '>')],
    ['targets[1].met', (f: Record<string, unknown>) => delete (f.targets as Record<string, unknown>[])[1].met],
    ['appendix[0].text', (f: Record<string, unknown>) => (f.appendix = [{ title: 't', file: 'f', language: 'lua' }])],
  ])('rejects a file whose "%s" is wrong, naming the field', (field, corrupt) => {
    const json = JSON.parse(stringifyResultFile(sample())) as Record<string, unknown>;
    corrupt(json);
    expect(() => parseResultFile(json, 'x.json')).toThrow(TypeError);
    expect(() => parseResultFile(json, 'x.json')).toThrow(`x.json: "${field}" must be`);
  });

  it('lives in bench/results/ of the repository, found from the module file', () => {
    expect(existsSync(path.join(repoRoot(), 'package.json'))).toBe(true);
    expect(resultsDir()).toBe(path.join(repoRoot(), 'bench', 'results'));
  });
});

describe('tables', () => {
  it('formats integers with separators, ratios with two decimals, small values with three digits', () => {
    expect([formatFigure(1234567), formatFigure(150.4), formatFigure(2.345), formatFigure(0.01234), formatFigure(0), formatFigure('x')]).toEqual([
      '1,234,567',
      '150',
      '2.35',
      '0.0123',
      '0',
      'x',
    ]);
  });

  it('aligns console columns, numbers to the right', () => {
    const [table] = tablesFromRows([
      { name: 'tallymesh', opsPerSec: 12_000_000 },
      { name: 'rlf', opsPerSec: 900 },
    ]);
    expect(formatTextTable(table)).toBe(
      ['name        opsPerSec', '---------  ----------', 'tallymesh  12,000,000', 'rlf               900'].join('\n'),
    );
  });

  it('prints every target with its verdict on the console', () => {
    const out = formatResultFileForConsole(sample());
    expect(out).toContain('tallymesh ≥ 2× rlf');
    expect(out).toMatch(/memory ≤ 100 B\/key\s+≤ 100\s+150\s+NOT met/);
    expect(out).toMatch(/daemon ≥ 1\s+≥ 1\s+-\s+missing/);
  });
});

describe('docs/benchmarks.md', () => {
  const committedResults = (): ResultFile[] => {
    const dir = resultsDir();
    return readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .sort()
      .map((n) => parseResultFile(JSON.parse(readFileSync(path.join(dir, n), 'utf8')), n));
  };

  it('is exactly what `npm run bench:docs` renders from bench/results/*.json', () => {
    const doc = readFileSync(path.join(repoRoot(), 'docs', 'benchmarks.md'), 'utf8');
    // On failure: a result file changed without `npm run bench:docs`, or the document was edited by hand.
    expect(doc).toBe(renderBenchmarksMarkdown(committedResults()));
  });

  it('has exactly the charts `npm run bench:docs` draws from bench/results/*.json, byte for byte, and no stale one', () => {
    expectCommittedCharts(CHART_PREFIX, chartsFromResults(committedResults()), '`npm run bench:docs`');
  });

  it('quotes each script the daemon benchmark ran as its file holds it today', () => {
    const daemon = committedResults().find((f) => f.scenario === 'daemon');
    const listings = daemon?.appendix ?? [];
    expect(listings.map((l) => l.file)).toEqual(['bench/daemon/redis-sliding-window.lua', 'bench/daemon/redis-bucketed-counter.lua']);
    // On failure: a script changed without running `npm run bench -- daemon` again, so the figures are not the script's.
    for (const l of listings) expect(l.text, l.file).toBe(readFileSync(path.join(repoRoot(), l.file), 'utf8'));
  });
});
