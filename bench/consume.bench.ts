/**
 * Scenario "consume": the cost of one local decision, the embedded default
 * (`createLimiter`, no mesh). tallymesh against rate-limiter-flexible's
 * RateLimiterMemory (the usual in-process choice) and against a bare Map
 * sliding-window counter (the floor), plus memory per key and per-call latency.
 *
 * Every measurement runs in its own freshly forked process (see
 * consume-worker.ts), one after another, all in the same run.
 */
import { runConsumeWorker as runWorker } from './consume/consume-fork.js';
import type { Competitor } from './consume/consume-worker.js';
import type { ResultRow } from './lib/scenario.js';
import type { Target } from './lib/targets.js';

const CALLS = 2_000_000;
const KEY_COUNTS = [1, 100_000] as const;
const REPETITIONS = 3;
/**
 * Throughput processes per competitor, interleaved with rotated order. On a
 * shared or virtual machine one process can land on a noisy few seconds;
 * spreading each competitor over rounds keeps that from favouring anyone.
 */
const ROUNDS = 2;
/** Enough to touch each of 100 000 keys five times before timing. */
const WARMUP_CALLS = 500_000;
/** So high that every call is admitted: all three competitors take the same path. */
const ADMIT_LIMIT = 1e9;
/** So low that all but the first 100 calls are denied: the attack path. */
const DENY_LIMIT = 100;
const MEMORY_KEYS = 1_000_000;
const LATENCY_SAMPLES = 1_000_000;
const LATENCY_KEYS = 1000;
const THROUGHPUT_COMPETITORS: readonly Competitor[] = ['tallymesh', 'rate-limiter-flexible', 'baseline-map'];

/** Printed by the runner and copied into docs/benchmarks.md. */
export const description = [
  `Local decisions with \`createLimiter\` (window 60 s, default buckets). Throughput: ${CALLS.toLocaleString('en-US')} calls`,
  `round-robin over 1 or 100,000 keys with limit ${ADMIT_LIMIT.toExponential()}, so every call is admitted; the best of`,
  `${REPETITIONS} timed repetitions after a warm-up, over ${ROUNDS} processes per competitor run interleaved.`,
  '`-deny` rows use limit 100 on 1 key, so nearly every call is denied (the attack path).',
  'rate-limiter-flexible is RateLimiterMemory called as its users call it (`await rl.consume(key, 1)`, denial caught);',
  'baseline-map is a bare Map of bucket rings with the same weighting and no replication (the floor).',
  `bytesPerKey: growth of heapUsed + external after one hit on each of ${MEMORY_KEYS.toLocaleString('en-US')} new keys, between forced GCs.`,
  `Latency: process.hrtime.bigint() around each of ${LATENCY_SAMPLES.toLocaleString('en-US')} calls over ${LATENCY_KEYS} keys, in an HDR histogram;`,
  'timerOverheadNs is the median empty interval, to subtract. Every measurement runs in its own fresh process (--expose-gc).',
].join(' ');

function keysLabel(k: number): string {
  return `${k.toLocaleString('en-US')} ${k === 1 ? 'key' : 'keys'}`;
}

/** Goals from the issue; evaluated on the `ratios` row and the memory row. */
export const targets: readonly Target[] = [
  ...KEY_COUNTS.map((k) => ({
    id: `throughput-vs-rlf-${k}`,
    description: `tallymesh ops/s ≥ 2× rate-limiter-flexible, ${keysLabel(k)}`,
    row: { name: 'ratios' },
    figure: `vsRateLimiterFlexible_${k}`,
    op: '>=' as const,
    threshold: 2,
  })),
  ...KEY_COUNTS.map((k) => ({
    id: `throughput-vs-baseline-${k}`,
    description: `tallymesh ops/s ≥ 0.5× baseline-map, ${keysLabel(k)}`,
    row: { name: 'ratios' },
    figure: `vsBaselineMap_${k}`,
    op: '>=' as const,
    threshold: 0.5,
  })),
  {
    id: 'bytes-per-key',
    description: 'tallymesh memory ≤ 160 bytes per key',
    row: { name: 'tallymesh', keys: MEMORY_KEYS },
    figure: 'bytesPerKey',
    op: '<=',
    threshold: 160,
  },
];

function figure(rows: ResultRow[], match: Record<string, string | number>, name: string): number {
  const row = rows.find((r) => Object.entries(match).every(([k, v]) => r[k] === v));
  const v = row?.[name];
  return typeof v === 'number' ? v : Number.NaN;
}

const ratio = (a: number, b: number): number => Math.round((a / b) * 1000) / 1000;

/** Runs every measurement of the scenario and derives the ratio row from them. */
export async function run(): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  const throughput = { calls: CALLS, warmupCalls: WARMUP_CALLS, repetitions: REPETITIONS } as const;

  // Best opsPerSec per row name and key count, over every round.
  const best = new Map<string, number>();
  const measure = async (competitor: Competitor, keys: number, expect: 'admit' | 'deny', name: string): Promise<void> => {
    const limit = expect === 'admit' ? ADMIT_LIMIT : DENY_LIMIT;
    const f = await runWorker({ kind: 'throughput', competitor, keys, limit, expect, ...throughput });
    const id = `${name}\u0000${keys}`;
    best.set(id, Math.max(best.get(id) ?? 0, f.opsPerSec));
  };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? THROUGHPUT_COMPETITORS : [...THROUGHPUT_COMPETITORS].reverse();
    for (const keys of KEY_COUNTS) {
      for (const competitor of order) await measure(competitor, keys, 'admit', competitor);
    }
    for (const competitor of order) {
      if (competitor !== 'baseline-map') await measure(competitor, 1, 'deny', `${competitor}-deny`);
    }
  }
  for (const keys of KEY_COUNTS) {
    for (const name of THROUGHPUT_COMPETITORS) rows.push({ name, keys, opsPerSec: best.get(`${name}\u0000${keys}`) ?? Number.NaN });
  }
  for (const name of ['tallymesh-deny', 'rate-limiter-flexible-deny']) {
    rows.push({ name, keys: 1, opsPerSec: best.get(`${name}\u00001`) ?? Number.NaN });
  }
  for (const competitor of ['tallymesh', 'rate-limiter-flexible'] as const) {
    const f = await runWorker({ kind: 'memory', competitor, keys: MEMORY_KEYS });
    rows.push({ name: competitor, keys: MEMORY_KEYS, bytesPerKey: f.bytesPerKey });
  }
  const lat = await runWorker({
    kind: 'latency',
    competitor: 'tallymesh',
    keys: LATENCY_KEYS,
    samples: LATENCY_SAMPLES,
    warmupCalls: WARMUP_CALLS,
  });
  rows.push({ name: 'tallymesh-latency', keys: LATENCY_KEYS, ...lat });

  // Ratios come from the raw rows of this very run, which stay in the file beside them.
  const ops = (name: string, keys: number): number => figure(rows, { name, keys }, 'opsPerSec');
  const bytes = (name: string): number => figure(rows, { name, keys: MEMORY_KEYS }, 'bytesPerKey');
  rows.push({
    name: 'ratios',
    vsRateLimiterFlexible_1: ratio(ops('tallymesh', 1), ops('rate-limiter-flexible', 1)),
    vsRateLimiterFlexible_100000: ratio(ops('tallymesh', 100_000), ops('rate-limiter-flexible', 100_000)),
    vsBaselineMap_1: ratio(ops('tallymesh', 1), ops('baseline-map', 1)),
    vsBaselineMap_100000: ratio(ops('tallymesh', 100_000), ops('baseline-map', 100_000)),
    denyVsRateLimiterFlexible_1: ratio(ops('tallymesh-deny', 1), ops('rate-limiter-flexible-deny', 1)),
    bytesPerKeyVsRlf: ratio(bytes('tallymesh'), bytes('rate-limiter-flexible')),
  });
  return rows;
}
