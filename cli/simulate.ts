/**
 * `tallymesh simulate`: a whole cluster in one process on the simulated
 * network (virtual time, seeded), with an optional partition, loss and clock
 * skew; prints an accuracy and convergence table. The table holds only
 * virtual-time figures, so the same flags and seed print the same bytes;
 * progress and wall-clock time go to stderr.
 *
 * @module
 */
import type { Command } from 'commander';
import type { SimPartition, SimulationOptions, SimulationReport } from '../src/sim/index.js';
import { EXIT, durationFlag, intFlag, numberFlag, usageError } from './exit.js';
import { formatCount, formatMillis, formatTable } from './format-table.js';
import { simEntry, type SimEntry } from './load.js';

/** The command's flags; durations arrive as written and are parsed with the package's parser. */
export interface SimulateFlags {
  nodes: number;
  seconds: number;
  rate: number;
  keys: number;
  limit: number;
  window: string;
  buckets?: number;
  partition?: string;
  at?: string;
  heal?: string;
  loss: number;
  duplicate: number;
  reorder: number;
  skew: string;
  gossipInterval: string;
  seed: number;
  json?: boolean;
  progress?: boolean;
}

/**
 * Turns `--partition 2:3` (group sizes, adding up to the node count) into
 * partitions that cut every pair of groups from `at` to `heal`.
 *
 * @example partitionGroups('2:3', 5, 3000, 6000) // [{ at: 3000, heal: 6000, a: ['n1','n2'], b: ['n3','n4','n5'] }]
 */
export function partitionGroups(spec: string, nodes: number, at: number, heal: number): SimPartition[] {
  const sizes = spec.split(':').map((s) => Number(s));
  if (sizes.length < 2 || sizes.some((n) => !Number.isInteger(n) || n < 1)) {
    throw usageError(`--partition: must be group sizes like 2:3, got ${JSON.stringify(spec)}`);
  }
  const total = sizes.reduce((x, y) => x + y, 0);
  if (total !== nodes) throw usageError(`--partition: the groups must add up to --nodes (${nodes}), got ${sizes.join('+')} = ${total}`);
  const groups: string[][] = [];
  let next = 1;
  for (const size of sizes) groups.push(Array.from({ length: size }, () => `n${next++}`));
  const out: SimPartition[] = [];
  for (let i = 0; i < groups.length; i++) for (let j = i + 1; j < groups.length; j++) out.push({ at, heal, a: groups[i], b: groups[j] });
  return out;
}

/** Builds the simulation options from the command's flags, checking how they fit together. */
export function simulationOptions(f: SimulateFlags, tm: SimEntry): SimulationOptions {
  const durationMs = Math.round(f.seconds * 1000);
  const windowMs = durationFlag(tm, '--window', f.window, 1);
  if (f.partition === undefined && (f.at !== undefined || f.heal !== undefined)) throw usageError('--at and --heal need --partition');
  let partitions: SimPartition[] = [];
  if (f.partition !== undefined) {
    // By default the partition holds for the middle third of the run.
    const at = f.at === undefined ? Math.round(durationMs / 3) : durationFlag(tm, '--at', f.at);
    const heal = f.heal === undefined ? Math.round((2 * durationMs) / 3) : durationFlag(tm, '--heal', f.heal);
    if (at >= durationMs) throw usageError(`--at: must be before the end of the run (${formatMillis(durationMs)}), got ${formatMillis(at)}`);
    if (heal <= at) throw usageError(`--heal: must be after --at (${formatMillis(at)}), got ${formatMillis(heal)}`);
    partitions = partitionGroups(f.partition, f.nodes, at, heal);
  }
  if (f.buckets !== undefined && f.buckets > windowMs) throw usageError(`--buckets: at most one bucket per ms of --window (${windowMs})`);
  return {
    seed: f.seed,
    nodes: f.nodes,
    durationMs,
    rate: f.rate,
    keys: f.keys,
    limit: f.limit,
    windowMs,
    buckets: f.buckets,
    gossipIntervalMs: durationFlag(tm, '--gossip-interval', f.gossipInterval, 1, 60_000),
    loss: f.loss,
    duplicate: f.duplicate,
    reorder: f.reorder,
    skewMs: durationFlag(tm, '--skew', f.skew, 0, 3_600_000),
    partitions,
  };
}

const yesNo = (b: boolean) => (b ? 'yes' : 'no');
/** Virtual ms, exact: the convergence figures are whole ms of simulated time. */
const ms = (n: number) => `${formatCount(n)} ms`;
const pct = (p: number) => `${Math.round(p * 10_000) / 100}%`;

/** Renders the scenario and the report as text. Only virtual-time figures: same input, same output. */
export function formatReport(o: SimulationOptions, r: SimulationReport): string {
  const part = o.partitions?.[0];
  const groups = part === undefined ? [] : [...new Set((o.partitions ?? []).flatMap((p) => [p.a.join(','), p.b.join(',')]))];
  const scenario = [
    `seed ${o.seed}: ${o.nodes} nodes, ${formatMillis(o.durationMs)} of virtual time, ${formatCount(o.rate)} decisions/s over ${o.keys} keys`,
    `limiter: ${formatCount(o.limit)} per ${formatMillis(o.windowMs)}${o.buckets === undefined ? '' : ` in ${o.buckets} buckets`}, gossip every ${formatMillis(o.gossipIntervalMs ?? 20)}`,
    part === undefined ? 'partition: none' : `partition: {${groups.join('} | {')}} from ${formatMillis(part.at)} to ${formatMillis(part.heal)}`,
    `faults: loss ${pct(o.loss ?? 0)}, duplicate ${pct(o.duplicate ?? 0)}, reorder ${pct(o.reorder ?? 0)}, clock skew up to ±${formatMillis(o.skewMs ?? 0)}`,
  ].join('\n');
  const accuracy = formatTable(
    [{ header: 'ACCURACY' }, { header: 'VALUE', right: true }, { header: '' }],
    [
      ['offered', formatCount(r.offered), ''],
      ['admitted', formatCount(r.admitted), ''],
      ['denied', formatCount(r.denied), ''],
      ['exact after heal', yesNo(r.exact), 'every node holds exactly the admitted hits'],
      ['over-counted', yesNo(r.overCounted), 'a node held more than was admitted'],
      ['max admitted ratio', r.maxAdmittedRatio.toFixed(3), 'most admitted in one window for one key / limit'],
      ['HLC monotonic', yesNo(r.hlcMonotonic), ''],
    ],
  );
  const convergence = formatTable(
    [{ header: 'CONVERGENCE' }, { header: 'VALUE', right: true }, { header: '' }],
    [
      ['samples', formatCount(r.convergence.samples), 'admitted hits traced to every node'],
      ['p50', ms(r.convergence.p50Ms), 'from admitted on one node to seen by all'],
      ['p99', ms(r.convergence.p99Ms), ''],
      ['max', ms(r.convergence.maxMs), ''],
      ['to exact after heal', r.healConvergedMs === null ? (part === undefined ? 'n/a' : 'never') : ms(r.healConvergedMs), 'once the network is whole and load stops'],
    ],
  );
  const mismatches =
    r.mismatches.length === 0
      ? ''
      : `\n\nfirst mismatches (node key bucket expected actual):\n${r.mismatches
          .slice(0, 10)
          .map((m) => `  ${m.node} ${m.key} ${m.bucket} ${m.expected} ${m.actual}`)
          .join('\n')}`;
  return `${scenario}\n\n${accuracy}\n\n${convergence}${mismatches}`;
}

/** Progress on stderr: rewritten in place on a terminal, a line per quarter otherwise. */
function progressReporter(enabled: boolean): { update: (f: number) => void; done: () => void } {
  const tty = process.stderr.isTTY === true;
  let shown = -1;
  return {
    update: (f) => {
      if (!enabled) return;
      const step = tty ? Math.floor(f * 100) : Math.floor(f * 4) * 25;
      if (step <= shown) return;
      shown = step;
      if (tty) process.stderr.write(`\rsimulating… ${String(step).padStart(3)}%`);
      else if (step > 0) process.stderr.write(`simulating… ${step}%\n`);
    },
    done: () => {
      if (enabled && tty) process.stderr.write('\r\x1b[2K');
    },
  };
}

/** Registers the `simulate` command. */
export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('Run a cluster on a simulated network (virtual time, seeded) and print accuracy and convergence')
    .option('--nodes <n>', 'number of nodes (n1, n2, …)', intFlag('--nodes', 1, 64), 5)
    .option('--seconds <s>', 'virtual seconds of load', numberFlag('--seconds', 0.1, 3600), 10)
    .option('--rate <n>', 'offered decisions per second, cluster-wide', intFlag('--rate', 1, 1_000_000), 2000)
    .option('--keys <n>', 'distinct keys the load spreads over', intFlag('--keys', 1, 1_000_000), 10)
    .option('--limit <n>', 'limit per key and window', intFlag('--limit', 1, 1e9), 500)
    .option('--window <duration>', 'window length', '5s')
    .option('--buckets <n>', 'buckets per window (default: one per second, clamped to [10, 600])', intFlag('--buckets', 1, 600))
    .option('--partition <groups>', 'split the nodes into groups, e.g. 2:3 (n1,n2 | n3,n4,n5)')
    .option('--at <duration>', 'when the partition starts (default: a third into the run)')
    .option('--heal <duration>', 'when it heals (default: two thirds into the run)')
    .option('--loss <p>', 'probability a frame is lost', numberFlag('--loss', 0, 1), 0)
    .option('--duplicate <p>', 'probability a frame is delivered twice', numberFlag('--duplicate', 0, 1), 0)
    .option('--reorder <p>', 'probability a frame is delayed past later ones', numberFlag('--reorder', 0, 1), 0)
    .option('--skew <duration>', "each node's clock is off by up to ± this", '0ms')
    .option('--gossip-interval <duration>', 'delta flush interval', '20ms')
    .option('--seed <n>', 'PRNG seed: same seed and flags, same output', intFlag('--seed', 0, 2 ** 32 - 1), 1)
    .option('--json', 'print the options and the report as JSON')
    .option('--no-progress', 'do not show progress on stderr')
    .addHelpText(
      'after',
      `
Exit codes: 0 the run held every guarantee, 1 it found a violation (not exact, over-counted, HLC backwards), 2 bad flags.

Examples:
  $ tallymesh simulate
  $ tallymesh simulate --nodes 5 --seconds 10 --rate 2000 --partition 2:3 --at 3s --heal 6s --loss 0.01 --skew 100ms --seed 1
  $ tallymesh simulate --nodes 7 --partition 3:2:2 --limit 100 --window 2s --keys 50 --json`,
    )
    .action(async (flags: SimulateFlags) => {
      const tm = await simEntry();
      const options = simulationOptions(flags, tm);
      const progress = progressReporter(flags.progress !== false);
      const started = performance.now();
      const report = await tm.runSimulation({ ...options, onProgress: progress.update });
      progress.done();
      if (flags.progress !== false) process.stderr.write(`simulated ${formatMillis(options.durationMs)} in ${formatMillis(performance.now() - started)} of wall time\n`);
      console.log(flags.json === true ? JSON.stringify({ options, report }, null, 2) : formatReport(options, report));
      process.exitCode = report.exact && !report.overCounted && report.hlcMonotonic ? EXIT.OK : EXIT.FAILED;
    });
}
