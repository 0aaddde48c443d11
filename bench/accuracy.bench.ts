/**
 * Scenario "accuracy" (issue 11): how many hits real daemons admit against
 * their limit, from the load generator's own log of admitted decisions —
 * healthy clusters on loopback (one node: the floor; three nodes at 15× and
 * 100× load; five at 15×; a hot key and Zipf keys) and partitions in network
 * namespaces ({1}|{2,3} and a bridge), under `partition=local` (today's
 * algorithm) and `partition=share`, each healthy cluster with lag-aware
 * admission on (the default) and off (`lagAware=off`: the count alone). The arithmetic is in
 * accuracy/accuracy-windows.ts, the load in accuracy/accuracy-load.ts.
 *
 * `TALLYMESH_BENCH_ACCURACY_ROWS=healthy` or `=partition` runs only those
 * rows (unset or `all`: every row; a `TALLYMESH_BENCH_` name, so the daemons,
 * which inherit the environment, do not warn about it). The runner still
 * writes bench/results/accuracy.json with only the rows that ran: before
 * committing, merge them into the full file (`git show
 * HEAD:bench/results/accuracy.json > whole.json`, then `node
 * dist/bench/lib/merge-results.js bench/results/accuracy.json whole.json`
 * and copy it back), which marks each merged row with the run it came
 * from.
 */
import { startAccuracyCluster, type Placement } from './accuracy/accuracy-cluster.js';
import { BATCH, runLoad, zipfKeys, type KeyPicker, type LoadLog } from './accuracy/accuracy-load.js';
import { namespacesUnavailable, PartitionTestbed } from './accuracy/accuracy-netns.js';
import { countIn, mostAligned, perInterval, slidingExtremes } from './accuracy/accuracy-windows.js';
import { killChildrenOnSignals } from './daemon/daemon-processes.js';
import type { ResultRow } from './lib/scenario.js';
import { encodeSeries } from './lib/series-figure.js';
import type { Target } from './lib/targets.js';

const LIMIT = 1_000;
const WINDOW_MS = 5_000;
/** The limiter's default for a 5 s window: one bucket per second, clamped to at least 10. */
const BUCKETS = 10;
/** The partition rows' timeline: hits admitted per bucket of the limiter. */
const INTERVAL_MS = WINDOW_MS / BUCKETS;
/** Requests per second at 1× load: the limit's own rate. */
const RATE_1X = (LIMIT * 1000) / WINDOW_MS;
const HEALTHY_MS = 4 * WINDOW_MS;
/** Long enough for windows wholly before the cut after the warm-up window: the healthy error of the same run. */
const BEFORE_CUT_MS = 11_000;
const CUT_MS = 12_000;
const AFTER_HEAL_MS = 6_000;
/** The daemons' default suspicion period: the loss is detected within it (a refused route, sooner). */
const SUSPECT_AFTER_MS = 1_000;
/** A key counts as saturated when offered at least this multiple of the limit's rate. */
const SATURATED = 1.5;
const ZIPF_KEYS = 100;
const ZIPF_S = 1.2;

const n = (v: number): string => v.toLocaleString('en-US');

/** Printed by the runner and copied into docs/benchmarks.md. */
export const description = [
  `Real daemons (\`tallymesh start\`, gossip 20 ms, suspicion ${SUSPECT_AFTER_MS / 1000} s) and a load generator in the bench process offering`,
  `POST /v1/consume batches of ${BATCH} at a fixed rate spread evenly over the nodes; limit ${n(LIMIT)} per ${WINDOW_MS / 1000} s (${BUCKETS} buckets),`,
  `1× = ${n(RATE_1X)} requests/s. Keys: one hot key, or Zipf (${ZIPF_KEYS} keys, s = ${ZIPF_S}; ratios over the keys offered ≥ ${SATURATED}× the limit's rate).`,
  'From the generator\'s own log of admitted decisions (time = midpoint of the batch\'s request and answer): slidingRatio = most admitted',
  'in any 5 s window ÷ limit, alignedRatio = in any aligned span of the 10 buckets, leastRatio = least in any sliding window of the',
  `saturated run (under-admission), all after the first window (warm-up). Healthy rows: ${HEALTHY_MS / 1000} s on loopback, with lag-aware admission (the default)`,
  'and again with `lagAware=off` (the count alone, the algorithm before it: rows marked "(lag-aware off)"). Partition rows (lag-aware on): 3 daemons',
  `in network namespaces, ${BEFORE_CUT_MS / 1000} s of load, a cut ({1}|{2,3}, or a bridge: 1 and 3 cut, both reaching 2) for ${CUT_MS / 1000} s, ${AFTER_HEAL_MS / 1000} s after the heal;`,
  `cutRatio = most admitted in any window touching the cut ÷ limit (beforeCutRatio: in windows wholly before it, the healthy error),`,
  `allowanceRatio = admitted in the ${SUSPECT_AFTER_MS / 1000} s after the cut (before the loss is detected) ÷ limit, excessRatio = cutRatio − 1 − allowanceRatio`,
  '(≤ 0: within the stated bound), cutAlignedRatio and alignedExcessRatio: the same in aligned spans, where the bound is stated exactly, partitionExcess = the same over max(1, beforeCutRatio) (what the partition added to the healthy error); node1Share / side23Share = admitted in the last window of the cut ÷ their share of the limit.',
  `admittedSeries (partition rows, drawn in docs/accuracy.md, not tabled): hits admitted by all nodes per ${INTERVAL_MS} ms bucket of the limiter (epoch-aligned), from the bucket holding the start of the load;`,
  'cutAtMs and healAtMs: when the cut and the heal were made, ms from the start of that first bucket.',
  'alignedOverFloor (hot-key rows at the one-node row\'s load): alignedRatio minus the one-node row\'s.',
  'cpuBusy: the machine\'s CPU busy fraction over the row (all cores; the daemons and the generator share them).',
].join(' ');

/** The targets. */
export const targets: readonly Target[] = [
  { id: 'healthy-3n-15x-sliding', description: '3 nodes, 15× load, hot key: most admitted in any window ≤ 1.02 × limit', row: { name: '3 nodes 15x hot local' }, figure: 'slidingRatio', op: '<=', threshold: 1.02 },
  { id: 'healthy-3n-15x-aligned', description: '3 nodes, 15× load, hot key: most admitted in an aligned span within 0.01 of the one-node floor', row: { name: '3 nodes 15x hot local' }, figure: 'alignedOverFloor', op: '<=', threshold: 0.01 },
  { id: 'healthy-3n-15x-least', description: '3 nodes, 15× load: least admitted in any window of saturated load ≥ 0.97 × limit', row: { name: '3 nodes 15x hot local' }, figure: 'leastRatio', op: '>=', threshold: 0.97 },
  { id: 'healthy-5n-15x-sliding', description: '5 nodes, 15× load, hot key: ≤ 1.05 × limit', row: { name: '5 nodes 15x hot local' }, figure: 'slidingRatio', op: '<=', threshold: 1.05 },
  { id: 'split-share-bound', description: 'share, {1}|{2,3}: ≤ limit + what was admitted before detection, in aligned spans (the bound as stated)', row: { name: 'split share' }, figure: 'alignedExcessRatio', op: '<=', threshold: 0 },
  { id: 'bridge-share-bound', description: 'share, bridge: ≤ limit + what was admitted before detection, in aligned spans (the bound as stated)', row: { name: 'bridge share' }, figure: 'alignedExcessRatio', op: '<=', threshold: 0 },
  { id: 'split-share-bound-sliding', description: 'share, {1}|{2,3}: ≤ limit + what was admitted before detection, in any sliding window', row: { name: 'split share' }, figure: 'excessRatio', op: '<=', threshold: 0 },
  { id: 'bridge-share-bound-sliding', description: 'share, bridge: ≤ limit + what was admitted before detection, in any sliding window', row: { name: 'bridge share' }, figure: 'excessRatio', op: '<=', threshold: 0 },
  { id: 'split-share-partition', description: 'share, {1}|{2,3}: the cut adds nothing to the healthy error beyond the allowance', row: { name: 'split share' }, figure: 'partitionExcess', op: '<=', threshold: 0 },
  { id: 'bridge-share-partition', description: 'share, bridge: the cut adds nothing to the healthy error beyond the allowance', row: { name: 'bridge share' }, figure: 'partitionExcess', op: '<=', threshold: 0 },
  { id: 'split-share-node1', description: 'share, {1}|{2,3}: node 1 admits ≥ 80 % of its share', row: { name: 'split share' }, figure: 'node1Share', op: '>=', threshold: 0.8 },
  { id: 'split-share-side23', description: 'share, {1}|{2,3}: nodes 2 and 3 admit ≥ 80 % of their share', row: { name: 'split share' }, figure: 'side23Share', op: '>=', threshold: 0.8 },
];

type Policy = 'local' | 'share';

const spec = (policy: Policy, lagAware = true): string =>
  `name=api,limit=${LIMIT},window=${WINDOW_MS / 1000}s,partition=${policy}${lagAware ? '' : ',lagAware=off'}`;
const round = (v: number): number => Math.round(v * 1000) / 1000;

/** Every admitted time of `key`, all nodes. */
function timesOf(log: LoadLog, key: string, nodes?: readonly number[]): number[] {
  const perNode = log.admitted.get(key) ?? [];
  return perNode.filter((_, i) => nodes === undefined || nodes.includes(i)).flat().sort((a, b) => a - b);
}

/** The window figures over the keys offered at least SATURATED× the limit's rate. */
function ratios(log: LoadLog, keys: readonly string[]): { slidingRatio: number; alignedRatio: number; leastRatio: number } {
  const from = log.startedAt + WINDOW_MS;
  const to = log.endedAt;
  let most = 0;
  let aligned = 0;
  let least = Infinity;
  for (const key of keys) {
    const times = timesOf(log, key);
    const s = slidingExtremes(times, WINDOW_MS, from, to);
    most = Math.max(most, s.most);
    least = Math.min(least, s.least);
    aligned = Math.max(aligned, mostAligned(times, WINDOW_MS, BUCKETS, from, to));
  }
  return { slidingRatio: round(most / LIMIT), alignedRatio: round(aligned / LIMIT), leastRatio: round(least / LIMIT) };
}

async function healthyRow(nodes: number, load: number, keys: 'hot' | 'zipf', policy: Policy, lagAware = true): Promise<ResultRow> {
  const name = `${nodes} node${nodes > 1 ? 's' : ''} ${load}x ${keys} ${policy}${lagAware ? '' : ' (lag-aware off)'}`;
  console.error(`accuracy: ${name}`);
  const cluster = await startAccuracyCluster(spec(policy, lagAware), Array.from({ length: nodes }, () => ({ host: '127.0.0.1' })));
  try {
    const offered = load * RATE_1X;
    let pick: KeyPicker = () => 'hot';
    let saturated = ['hot'];
    if (keys === 'zipf') {
      const z = zipfKeys(ZIPF_KEYS, ZIPF_S);
      pick = z.pick;
      saturated = Array.from({ length: ZIPF_KEYS }, (_, i) => `k${i}`).filter((k) => z.share(k) * offered >= SATURATED * RATE_1X);
    }
    const log = await runLoad({ urls: cluster.urls, limiter: 'api', offeredPerSec: offered, pick, durationMs: HEALTHY_MS });
    return {
      name,
      topology: 'healthy',
      nodes,
      load,
      keys,
      policy,
      lagAware: lagAware ? 'on' : 'off',
      ...ratios(log, saturated),
      saturatedKeys: saturated.length,
      offeredPerSec: Math.round(log.offeredPerSec),
      failed: log.failed,
      cpuBusy: round(log.cpuBusy),
    };
  } finally {
    await cluster.stop();
  }
}

async function partitionRow(bed: PartitionTestbed, topology: 'split' | 'bridge', policy: Policy): Promise<ResultRow> {
  const name = `${topology} ${policy}`;
  console.error(`accuracy: partition ${name}`);
  const placements: Placement[] = bed.addrs.map((host, i) => ({ host, prefix: ['ip', 'netns', 'exec', bed.ns(i + 1)] }));
  const cluster = await startAccuracyCluster(spec(policy), placements);
  try {
    const load = 15;
    const log = await runLoad({
      urls: cluster.urls,
      limiter: 'api',
      offeredPerSec: load * RATE_1X,
      pick: () => 'hot',
      durationMs: BEFORE_CUT_MS + CUT_MS + AFTER_HEAL_MS,
      actions: [
        { atMs: BEFORE_CUT_MS, run: () => (topology === 'split' ? bed.partition([1], [2, 3]) : bed.partition([1], [3])) },
        { atMs: BEFORE_CUT_MS + CUT_MS, run: () => bed.heal() },
      ],
    });
    const [cutAt, healAt] = log.actionTimes;
    const all = timesOf(log, 'hot');
    const allowance = countIn(all, cutAt, cutAt + SUSPECT_AFTER_MS) / LIMIT;
    const r = ratios(log, ['hot']);
    // Windows that touch the cut (start before the heal, end after the cut), and those wholly before it: the healthy error.
    const during = slidingExtremes(all, WINDOW_MS, Math.max(log.startedAt + WINDOW_MS, cutAt - WINDOW_MS), healAt + WINDOW_MS).most / LIMIT;
    const before = slidingExtremes(all, WINDOW_MS, log.startedAt + WINDOW_MS, cutAt).most / LIMIT;
    // The bound as stated holds in aligned spans (a sliding window may hold one bucket's hits more).
    const duringAligned = mostAligned(all, WINDOW_MS, BUCKETS, Math.max(log.startedAt + WINDOW_MS, cutAt - WINDOW_MS), healAt + WINDOW_MS) / LIMIT;
    // The last window of the cut: each side's share of the limit.
    const last = (nodes: number[]): number => countIn(timesOf(log, 'hot', nodes), healAt - WINDOW_MS, healAt);
    // The timeline, bucket by bucket, through the end of the load (or the last answer, if later).
    const origin = Math.floor(log.startedAt / INTERVAL_MS) * INTERVAL_MS;
    const series = perInterval(all, origin, INTERVAL_MS, Math.ceil((Math.max(all.at(-1) ?? 0, log.endedAt) + 1 - origin) / INTERVAL_MS));
    return {
      name,
      topology,
      nodes: 3,
      load,
      keys: 'hot',
      policy,
      lagAware: 'on',
      ...r,
      beforeCutRatio: round(before),
      cutRatio: round(during),
      allowanceRatio: round(allowance),
      excessRatio: round(during - 1 - allowance),
      cutAlignedRatio: round(duringAligned),
      alignedExcessRatio: round(duringAligned - 1 - allowance),
      partitionExcess: round(during - Math.max(1, before) - allowance),
      node1Share: round(last([0]) / (LIMIT / 3)),
      side23Share: round(last([1, 2]) / ((2 * LIMIT) / 3)),
      offeredPerSec: Math.round(log.offeredPerSec),
      failed: log.failed,
      cpuBusy: round(log.cpuBusy),
      limit: LIMIT,
      windowMs: WINDOW_MS,
      intervalMs: INTERVAL_MS,
      cutAtMs: Math.round(cutAt - origin),
      healAtMs: Math.round(healAt - origin),
      admittedSeries: encodeSeries(series),
    };
  } finally {
    await cluster.stop();
  }
}

/** Which rows `TALLYMESH_BENCH_ACCURACY_ROWS` asks for. */
function wantedRows(env: string | undefined): { healthy: boolean; partition: boolean } {
  const v = (env ?? '').trim();
  if (v === '' || v === 'all') return { healthy: true, partition: true };
  if (v === 'healthy' || v === 'partition') return { healthy: v === 'healthy', partition: v === 'partition' };
  throw new Error(`TALLYMESH_BENCH_ACCURACY_ROWS must be healthy, partition or all, got "${v}"`);
}

export async function run(): Promise<ResultRow[]> {
  const wanted = wantedRows(process.env.TALLYMESH_BENCH_ACCURACY_ROWS);
  const offSignals = killChildrenOnSignals();
  const rows: ResultRow[] = [];
  try {
    if (wanted.healthy) {
      // One node is the floor; each cluster row runs again with lag-aware admission off (the count
      // alone, today's algorithm before it), the competitor in the same run.
      rows.push(await healthyRow(1, 15, 'hot', 'local'));
      for (const lagAware of [true, false]) rows.push(await healthyRow(3, 15, 'hot', 'local', lagAware));
      rows.push(await healthyRow(3, 15, 'hot', 'share'));
      for (const lagAware of [true, false]) rows.push(await healthyRow(3, 100, 'hot', 'local', lagAware));
      for (const lagAware of [true, false]) rows.push(await healthyRow(5, 15, 'hot', 'local', lagAware));
      for (const lagAware of [true, false]) rows.push(await healthyRow(3, 15, 'zipf', 'local', lagAware));
      rows.push(await healthyRow(3, 15, 'zipf', 'share'));
      // Aligned spans against the one-node floor of the same run (the same key pattern).
      const floor = rows[0];
      for (const r of rows) {
        if (r.keys === 'hot' && r.load === floor.load) r.alignedOverFloor = round(Number(r.alignedRatio) - Number(floor.alignedRatio));
      }
    }
    if (!wanted.partition) return rows;
    const why = namespacesUnavailable();
    if (why !== null) {
      if (process.env.CI) throw new Error(`accuracy: partitions need network namespaces: ${why}`);
      console.error(`accuracy: partition rows skipped: ${why}`);
      return rows;
    }
    const bed = new PartitionTestbed(3);
    const down = (): void => bed.down();
    process.once('exit', down);
    try {
      bed.up();
      for (const topology of ['split', 'bridge'] as const) {
        for (const policy of ['local', 'share'] as const) rows.push(await partitionRow(bed, topology, policy));
      }
    } finally {
      bed.down();
      process.off('exit', down);
    }
    return rows;
  } finally {
    offSignals();
  }
}
