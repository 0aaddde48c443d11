/**
 * Scenario "consume": the cost of one local decision, the embedded default
 * (`createLimiter`, no mesh). tallymesh against rate-limiter-flexible's
 * RateLimiterMemory (the usual in-process choice) and against a bare Map
 * sliding-window counter (the floor), plus memory per key and per-call latency.
 *
 * Every measurement runs in its own freshly forked process (see
 * consume-worker.ts), one after another, all in the same run.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Competitor, WorkerReply, WorkerTask } from './consume-worker.js';
import type { ResultRow } from './scenario.js';
import type { Target } from './targets.js';

const CALLS = 2_000_000;
const KEY_COUNTS = [1, 100_000] as const;
const REPETITIONS = 3;
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
  `round-robin over 1 or 100,000 keys, limit ${ADMIT_LIMIT.toExponential()} so every call is admitted, best of ${REPETITIONS}`,
  'after a warm-up; `-deny` rows use limit 100 on 1 key so nearly every call is denied.',
  'rate-limiter-flexible is RateLimiterMemory called as its users call it (`await rl.consume(key, 1)`, denial caught);',
  'baseline-map is a bare Map of bucket rings with the same weighting and no replication (the floor).',
  `bytesPerKey: (heapUsed + external) growth after one hit on each of ${MEMORY_KEYS.toLocaleString('en-US')} new keys, between forced GCs.`,
  `Latency: process.hrtime.bigint() around each of ${LATENCY_SAMPLES.toLocaleString('en-US')} calls over ${LATENCY_KEYS} keys, recorded in an HDR histogram;`,
  'timerOverheadNs is the median empty interval, to subtract. Each measurement runs in its own fresh process (--expose-gc).',
].join(' ');

/** Goals from the issue; evaluated on the `ratios` row and the memory row. */
export const targets: readonly Target[] = [
  ...KEY_COUNTS.map((k) => ({
    id: `throughput-vs-rlf-${k}`,
    description: `tallymesh ops/s ≥ 2× rate-limiter-flexible, ${k.toLocaleString('en-US')} key(s)`,
    row: { name: 'ratios' },
    figure: `vsRateLimiterFlexible_${k}`,
    op: '>=' as const,
    threshold: 2,
  })),
  ...KEY_COUNTS.map((k) => ({
    id: `throughput-vs-baseline-${k}`,
    description: `tallymesh ops/s ≥ 0.5× baseline-map, ${k.toLocaleString('en-US')} key(s)`,
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

const WORKER = fileURLToPath(new URL('./consume-worker.js', import.meta.url));

/** Forks one worker for one task and resolves with its figures. */
function runWorker(task: WorkerTask): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    // Explicit execArgv: a fresh process with gc() exposed, not inheriting the runner's flags.
    const child = fork(WORKER, [JSON.stringify(task)], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let reply: WorkerReply | undefined;
    child.once('message', (m) => (reply = m as WorkerReply));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (reply?.ok) resolve(reply.figures);
      else if (reply) reject(new Error(`${task.kind} ${task.competitor} failed: ${reply.error}`));
      else reject(new Error(`${task.kind} ${task.competitor} worker exited (${signal ?? code}) without a reply`));
    });
  });
}

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

  for (const keys of KEY_COUNTS) {
    for (const competitor of THROUGHPUT_COMPETITORS) {
      const f = await runWorker({ kind: 'throughput', competitor, keys, limit: ADMIT_LIMIT, expect: 'admit', ...throughput });
      rows.push({ name: competitor, keys, opsPerSec: f.opsPerSec });
    }
  }
  for (const competitor of ['tallymesh', 'rate-limiter-flexible'] as const) {
    const f = await runWorker({ kind: 'throughput', competitor, keys: 1, limit: DENY_LIMIT, expect: 'deny', ...throughput });
    rows.push({ name: `${competitor}-deny`, keys: 1, opsPerSec: f.opsPerSec });
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
