/**
 * The fault suite's results: one row per fault in `bench/results/faults.json`
 * (the same result-file shape as every benchmark), `docs/reliability.md`
 * rendered from that file (with the last long soak's summary from
 * `bench/results/soak.json`, written by `npm run soak`), and
 * `docs/benchmarks.md` regenerated from every result file as
 * `npm run bench:docs` does — never typed by hand.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { collectMachineInfo, formatMachine, type MachineInfo } from '../../bench/lib/machine.js';
import { writeBenchmarksDoc } from '../../bench/lib/render-docs.js';
import { evaluateTargets, type Target, type TargetVerdict } from '../../bench/lib/targets.js';
import { REPO_ROOT } from './daemon.js';

/** One fault's figures. Numbers and strings only (the result-file rule). */
export interface FaultRow {
  [figure: string]: number | string;
  /** Fault id, e.g. `partition-2-3`. */
  name: string;
  /** What happened, in words. */
  title: string;
  /** How it was injected (the commands, abridged). */
  injection: string;
  /** How long the fault lasted, ms. */
  faultMs: number;
  sent: number;
  admitted: number;
  denied: number;
  /** Most hits of one key admitted in any window / limit, from the load generator's log. */
  admittedRatio: number;
  limit: number;
  windowMs: number;
  /** Requests offered per bound key per window, divided by the limit (how hard the bound was pushed). */
  offeredRatio: number;
  /** Decision latency seen by the load generator, ms. */
  p50Ms: number;
  p99Ms: number;
  /** From heal (or from the last admitted hit, when load ran through the heal) until every daemon's count is exact; -1: never. */
  convergenceMs: number;
  /** 'yes' when every daemon's count equals the truth for every key (within the crash allowance for kill -9). */
  exact: string;
  /** Admitted hits missing from the daemons' counts after quiet. */
  lost: number;
  /** For kill -9: hits the killed node admitted in its last ~gossip interval (the most it may lose). */
  lostAllowance: number;
  /** Counted beyond admitted + indeterminate (a double count). */
  overcount: number;
  /** Requests with unknown outcome (connection broke mid-request). */
  indeterminate: number;
  /** Requests refused because their target was down (crash) — expected. */
  unavailable: number;
  /** Unexpected answers (5xx other than 503, malformed bodies). */
  errors: number;
  /** Daemons that exited without being told to. */
  crashed: number;
  /** Highest daemon RSS during the fault, MiB. */
  maxRssMb: number;
  /** Anything else worth saying, e.g. what /v1/cluster reported. */
  notes: string;
}

/** Targets every run is judged against (evaluated into the file, shown in the doc). */
export const FAULT_TARGETS: readonly Target[] = [
  { id: 'wrong-secret-learns-nothing', description: 'a daemon with another secret learns no count', row: { name: 'wrong-secret' }, figure: 'learned', op: '<=', threshold: 0 },
];

/** The file written to `bench/results/faults.json`. */
export interface FaultsFile {
  scenario: 'faults';
  description: string;
  machine: MachineInfo;
  results: FaultRow[];
  targets: TargetVerdict[];
  /** How latency/loss was injected on this kernel. */
  injector: string;
  /** 'yes' when every fault ran. */
  complete: string;
}

export const RESULTS_PATH = join(REPO_ROOT, 'bench', 'results', 'faults.json');
export const DOC_PATH = join(REPO_ROOT, 'docs', 'reliability.md');
export const SOAK_PATH = join(REPO_ROOT, 'bench', 'results', 'soak.json');

/** What the reliability page shows of `bench/results/soak.json` (see bench/soak.ts). */
interface SoakFile {
  description: string;
  machine: MachineInfo;
  results: Array<Record<string, number | string>>;
  targets: TargetVerdict[];
}

const DESCRIPTION =
  'Five real daemons (`tallymesh start`), one per network namespace on a bridge (198.18.0.0/24), under keep-alive HTTP load from the root namespace. ' +
  'Each fault is injected, held, healed; then every daemon\'s count for every key is compared with the load generator\'s own log of admitted hits.';

/** Builds the results file from the rows collected so far. */
export function buildFaultsFile(rows: FaultRow[], injector: string, complete: boolean): FaultsFile {
  return {
    scenario: 'faults',
    description: DESCRIPTION,
    machine: collectMachineInfo(),
    results: rows,
    targets: evaluateTargets(rows, FAULT_TARGETS),
    injector,
    complete: complete ? 'yes' : 'no',
  };
}

const fmtMs = (ms: number): string => (ms < 0 ? 'never' : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The soak's summary for the reliability page: its run, each daemon's memory and lag, the end state, its targets. */
function renderSoak(soak: SoakFile): string[] {
  const row = (name: string) => soak.results.find((r) => r.name === name) ?? {};
  const steady = row('steady');
  const convergence = row('convergence');
  const out = ['## Long run (soak)', ''];
  out.push(`${soak.description}`);
  out.push('');
  out.push(`Machine: ${formatMachine(soak.machine)}.`);
  out.push('');
  out.push(`${steady.minutes} min at ${steady.achievedPerSec} decisions/s (target ${steady.targetPerSec}/s): ${steady.decisions} decisions, ${steady.errors} errors, client p99 ${steady.clientP99Ms} ms. At the end every daemon ${convergence.exact === 'yes' ? 'held exactly' : 'did NOT hold exactly'} the admitted hits of the ${convergence.keys} keys checked (${convergence.lost} lost, ${convergence.overcount} over-counted, converged in ${convergence.convergenceMs} ms).`);
  out.push('');
  out.push('| daemon | RSS after warm-up | RSS at the end | RSS max | growth | event-loop lag p99 (mean / max) |');
  out.push('|---|---:|---:|---:|---:|---:|');
  for (const r of soak.results.filter((x) => String(x.name).startsWith('daemon-'))) {
    out.push(`| ${String(r.name).slice('daemon-'.length)} | ${r.rssAfterWarmupMb} MiB | ${r.rssEndMb} MiB | ${r.rssMaxMb} MiB | ${r.rssGrowthPct} % | ${r.lagP99MeanMs} / ${r.lagP99MaxMs} ms |`);
  }
  out.push('');
  for (const t of soak.targets) out.push(`- ${t.description}: ${t.actual === null ? 'missing' : t.actual} (${t.met ? 'met' : 'NOT met'})`);
  out.push('');
  out.push('Reproduce: `npm run soak -- --minutes 10` (not in CI; writes bench/results/soak.json).');
  out.push('');
  return out;
}

/** The soak results file, when one was written. */
export function readSoak(path = SOAK_PATH): SoakFile | null {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as SoakFile) : null;
}

/** Renders `docs/reliability.md` from a results file (and the soak's, when there is one). */
export function renderReliability(file: FaultsFile, soak: SoakFile | null = readSoak()): string {
  const rows = file.results;
  const out: string[] = [];
  out.push('# Reliability under faults');
  out.push('');
  out.push('<!-- GENERATED by `npm run test:faults` (test/faults/report.ts) from bench/results/faults.json. Do not edit by hand. -->');
  out.push('');
  out.push(file.description);
  out.push('');
  out.push(`Machine: ${formatMachine(file.machine)}. Latency/loss injector: \`${file.injector}\`.${file.complete === 'yes' ? '' : ' **Partial run: not every fault ran.**'}`);
  out.push('');
  out.push('| fault | admittedRatio | convergence after heal | exact | lost | overcount | errors | unavailable | indeterminate | crashed | max RSS | decision p50 / p99 |');
  out.push('|---|---:|---:|:---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const lost = r.lostAllowance > 0 ? `${r.lost} (≤ ${r.lostAllowance} allowed)` : String(r.lost);
    out.push(
      `| ${cell(r.title)} | ${r.admittedRatio.toFixed(2)} | ${fmtMs(r.convergenceMs)} | ${r.exact} | ${lost} | ${r.overcount} | ${r.errors} | ${r.unavailable} | ${r.indeterminate} | ${r.crashed} | ${r.maxRssMb} MiB | ${r.p50Ms} / ${r.p99Ms} ms |`,
    );
  }
  out.push('');
  out.push('## How each fault was injected');
  out.push('');
  for (const r of rows) {
    out.push(`- **${cell(r.title)}** (\`${r.name}\`, held ${fmtMs(r.faultMs)}): ${r.injection}.${r.notes !== '' ? ` ${r.notes}` : ''}`);
  }
  out.push('');
  out.push('## What the columns mean');
  out.push('');
  out.push(
    '- **admittedRatio**: from the load generator\'s log of admitted answers, the most hits of one key inside any window of the limiter\'s length, divided by the limit ' +
      '(limiter `bound`: limit ' + (rows[0]?.limit ?? '?') + ' per ' + ((rows[0]?.windowMs ?? 0) / 1000) + ' s, offered about ' + (rows[0]?.offeredRatio ?? '?') + '× that). ' +
      'Above 1 means the cluster admitted more than the limit: while nodes cannot hear each other each side admits up to the limit on its own — the price of deciding locally, bounded by the number of sides.',
  );
  out.push('- **convergence after heal**: from the heal (or, when load ran through the heal, from the last admitted hit) until every daemon\'s count equalled the truth for every key, polled every 100 ms.');
  out.push('- **exact**: every daemon\'s count for every key (limiter `exact`: a 600 s window, so nothing expires during a test) equals the number of hits the load generator saw admitted; for kill -9, within the allowance below.');
  if (rows.some((r) => r.name === 'key-churn')) {
    out.push(
      '- **key churn**: the row\'s figures are those of the usual keys; its notes add the churned limiter\'s: held keys per daemon (`/v1/cluster`) against the keys the churn load saw live, ' +
        'every bucket still inside the window read with `?cells=1` on every daemon and held against the hits admitted into it, and the overflows counted.',
    );
  }
  out.push('- **lost**: admitted hits no daemon counts after quiet. Only a kill -9 may lose hits: those the killed node admitted and had not yet gossiped (its last ~gossip interval). The allowance is what it admitted in the last 100 ms before the kill; the real loss is measured, not assumed.');
  out.push('- **overcount**: counted beyond admitted plus indeterminate (a double count). Must be 0.');
  out.push('- **unavailable**: requests refused because the target daemon was down (kill -9) — the client would retry another node. **indeterminate**: requests whose connection broke mid-flight; a daemon may have counted them, so they only widen the upper bound.');
  out.push('- **errors**: unexpected answers from a running daemon. **crashed**: daemons that exited without being told to. **max RSS**: highest resident set of any daemon during the fault. **decision p50 / p99**: HTTP round trip of `POST /v1/consume` as the load generator saw it (under injected latency it includes the delay and TCP retransmissions of lost packets).');
  out.push('');
  if (file.targets.length > 0) {
    out.push('## Targets');
    out.push('');
    for (const t of file.targets) out.push(`- ${t.description}: ${t.actual === null ? 'missing' : t.actual} (${t.met ? 'met' : 'NOT met'})`);
    out.push('');
  }
  out.push('Reproduce: `sudo npm run test:faults` on Linux (needs root for network namespaces; installs `faketime` and `iptables` from Debian when missing).');
  out.push('');
  if (soak !== null) out.push(...renderSoak(soak));
  return out.join('\n');
}

/**
 * Writes `bench/results/faults.json` and `docs/reliability.md`, then
 * regenerates `docs/benchmarks.md` from every result file (its test holds it
 * to them, faults.json included).
 */
export async function writeReports(rows: FaultRow[], injector: string, complete: boolean): Promise<void> {
  const file = buildFaultsFile(rows, injector, complete);
  mkdirSync(dirname(RESULTS_PATH), { recursive: true });
  writeFileSync(RESULTS_PATH, `${JSON.stringify(file, null, 2)}\n`);
  mkdirSync(dirname(DOC_PATH), { recursive: true });
  writeFileSync(DOC_PATH, renderReliability(file));
  await writeBenchmarksDoc();
}
