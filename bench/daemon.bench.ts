/**
 * Scenario "daemon": decisions per second a client process gets from one
 * tallymesh daemon (started through the real CLI in its own process) against
 * Redis running a rate-limit script, like for like: one decision per call
 * against one EVALSHA per call, a batch of 100 against a pipeline of 100, the
 * same algorithm where one exists (a bucketed counter doing tallymesh's window
 * math, beside the usual sorted-set log) — all from the same client process
 * at the same concurrency in one run, each row with its latency and the
 * server's CPU time per decision. The rows are the table in
 * daemon/throughput-rows.ts. Plus stream latency at half the stream's peak,
 * and the RSS of a daemon holding 1,000,000 keys.
 *
 * The benchmark process is the client. Children (the daemon, a fresh daemon
 * for the memory figure, redis-server) are killed when the run ends, fails or
 * is interrupted. Extra node flags for the daemons come from
 * TALLYMESH_BENCH_DAEMON_FLAGS, e.g. "--cpu-prof --cpu-prof-dir=prof".
 *
 * A missing redis-server is installed from Debian's packages first
 * (`scripts/bench-prereqs.sh`, as root with apt-get); where it cannot be, or
 * with TALLYMESH_BENCH_INSTALL=0, the Redis rows are skipped, saying why.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KeyPicker } from './daemon/daemon-clients.js';
import {
  closedLoop,
  fillDistinctKeys,
  histogramQuantileBetween,
  metricSum,
  pacedStreamLatency,
  scrapeMetrics,
  type ClosedLoopResult,
} from './daemon/daemon-load.js';
import {
  ensureRedisServer,
  killChildrenOnSignals,
  REDIS_INSTALL_HINT,
  rssBytesOf,
  schedStatOf,
  startDaemonProcess,
  startRedisServer,
  type ManagedProcess,
} from './daemon/daemon-processes.js';
import { REDIS_SCRIPT_NAMES, redisScript } from './daemon/redis-scripts.js';
import { daemonNeeds, THROUGHPUT_ROWS, type RowContext, type ThroughputRow } from './daemon/throughput-rows.js';
import type { Listing } from './lib/result-file.js';
import type { ResultRow, RunOptions } from './lib/scenario.js';
import type { Target } from './lib/targets.js';

const LIMITER = 'api';
/** So high that every request is admitted: every competitor takes the same (admit) path. */
const LIMIT = 1_000_000_000;
const WINDOW_MS = 60_000;
/** tallymesh's default for a 60 s window, stated so the Redis script uses the same. */
const BUCKETS = 60;
const LIMITER_SPEC = `name=${LIMITER},limit=${LIMIT},window=${WINDOW_MS / 1000}s,buckets=${BUCKETS}`;
const KEYS = 10_000;
/**
 * Requests in flight for every throughput row: a busy service with a few
 * dozen concurrent handlers. HTTP/1.1 has one request per socket, so the HTTP
 * rows use that many keep-alive sockets; the others pipeline them on one
 * connection, as their clients are meant to be used.
 */
const IN_FLIGHT = 32;
const BATCH_SIZE = 100;
const WARMUP_MS = 1_000;
const DURATION_MS = 5_000;
/** Throughput rounds, order reversed every other round; the best round of each row counts. */
const ROUNDS = 3;
const RSS_KEYS = 1_000_000;
/** 1,000 is the largest frame the stream accepts; the fill is setup, not a measurement. */
const FILL_BATCH = 1_000;
const FILL_IN_FLIGHT = 8;
/** Idle time before reading RSS, so it reflects the settled process rather than the fill's last allocation burst. */
const RSS_SETTLE_MS = 2_000;
const RSS_LIMIT_BYTES = 500_000_000;

const rowList = (shape: 'single' | 'batched'): string =>
  THROUGHPUT_ROWS.filter((r) => r.shape === shape)
    .map((r) => `${r.name}: ${r.how.replace(/`batchSize`/g, String(BATCH_SIZE))}`)
    .join('; ');

/** Printed by the runner and copied into docs/benchmarks.md. */
export const description = [
  `One daemon (\`tallymesh start\`, its own process, limiter ${LIMITER_SPEC.replace(/,/g, ', ')}: every request is admitted)`,
  'and redis-server 7 (loopback, no persistence) on the same machine; the benchmark process is the only client. Every throughput row keeps',
  `${IN_FLIGHT} requests in flight for ${DURATION_MS / 1000} s after a ${WARMUP_MS / 1000} s warm-up, keys drawn uniformly from ${KEYS.toLocaleString('en-US')};`,
  `each row's best of ${ROUNDS} rounds run in alternating order. Every answer is parsed and checked.`,
  `One decision per call — ${rowList('single')}.`,
  `Many decisions per message — ${rowList('batched')}.`,
  'The two Redis scripts are quoted below: the sorted-set log most Redis rate limiters use, and a bucketed counter doing tallymesh\'s own',
  `window math (a hash per key, a field per bucket of ${WINDOW_MS / BUCKETS / 1000} s, the edge bucket weighted).`,
  'p50Ms/p99Ms: round trip of one call (a batch or pipeline is one call), sent to answer checked.',
  'serverCpuUsPerDecision: CPU time (user + system, all threads, /proc/<pid>/stat) of the daemon or redis-server in the timed window',
  'divided by the decisions answered in it — the cost that holds when the client, not the server, is the bottleneck (as here, on 2 cores).',
  'What bounds http-single is HTTP/1.1 itself: one request per socket, so a read and a write system call (on loopback the kernel delivers',
  "the bytes inside the sender's write, charged to the daemon) per decision, where a pipelined Redis or RESP connection shares them among many;",
  'a CPU profile of the daemon (TALLYMESH_BENCH_DAEMON_FLAGS="--cpu-prof") shows it.',
  'clientCpu/serverCpu: cores used by the client process and by the server; otherCpu: cores every other process of the machine used meanwhile',
  '(/proc/stat), and loadAvg1 the load average after the row: the shared machine\'s noise.',
  `stream-latency: frames of ${BATCH_SIZE} on one WebSocket, paced open-loop at half the stream row's decisions/s; each frame's round trip`,
  `(sent to answer decoded) in an HDR histogram, ${DURATION_MS / 1000} s after a ${WARMUP_MS / 1000} s warm-up; serverP99Ms: the daemon's own`,
  'time per frame at p99 (upper bound of its tallymesh_decision_latency_seconds bucket); daemonCpuWaitPct: share of that window',
  "the daemon's event-loop thread was runnable but waiting for a CPU (/proc/<pid>/schedstat), the machine's contribution to the tail.",
  `rss: a fresh daemon after one hit on each of ${RSS_KEYS.toLocaleString('en-US')} distinct keys (stream frames of ${FILL_BATCH.toLocaleString('en-US')}),`,
  `VmRSS from /proc after ${RSS_SETTLE_MS / 1000} s idle; liveKeys from its /metrics.`,
].join(' ');

/** The Redis scripts, quoted in the docs from the result file (a test keeps the committed results in step with the files). */
export const appendix: readonly Listing[] = REDIS_SCRIPT_NAMES.map((name) => {
  const script = redisScript(name);
  return { title: `Redis script: ${name}`, file: script.file, language: 'lua', text: script.lua };
});

const batchedVsPipeline = (row: string, figure: string): Target => ({
  id: `${row}-vs-redis-pipeline`,
  description: `${row} (${BATCH_SIZE} per message) decisions/s ≥ 3× Redis bucketed-counter, pipelines of ${BATCH_SIZE}`,
  row: { name: 'ratios' },
  figure,
  op: '>=',
  threshold: 3,
});

/** Goals from the issues, evaluated on the `ratios`, `stream-latency` and `rss` rows. */
export const targets: readonly Target[] = [
  {
    id: 'resp-single-cpu',
    description: "resp-single server CPU per decision ≤ 1.0× redis-server's for the bucketed-counter script, one per call",
    row: { name: 'ratios' },
    figure: 'respSingleCpuVsRedisBucketed',
    op: '<=',
    threshold: 1,
  },
  {
    id: 'resp-single-throughput',
    description: 'resp-single decisions/s ≥ 1.0× Redis bucketed-counter, one per call, same client',
    row: { name: 'ratios' },
    figure: 'respSingleVsRedisBucketed',
    op: '>=',
    threshold: 1,
  },
  {
    id: 'http-single-cpu',
    description: "http-single server CPU per decision ≤ 2× redis-server's for the bucketed-counter script",
    row: { name: 'ratios' },
    figure: 'httpSingleCpuVsRedisBucketed',
    op: '<=',
    threshold: 2,
  },
  batchedVsPipeline('http-batch', 'httpBatchVsRedisPipeline'),
  batchedVsPipeline('stream', 'streamVsRedisPipeline'),
  batchedVsPipeline('resp-pipeline', 'respPipelineVsRedisPipeline'),
  {
    id: 'stream-p99',
    description: 'stream p99 round trip ≤ 2 ms at half of peak throughput',
    row: { name: 'stream-latency' },
    figure: 'p99Ms',
    op: '<=',
    threshold: 2,
  },
  {
    id: 'rss-1m-keys',
    description: `daemon RSS ≤ 500 MB (${RSS_LIMIT_BYTES.toLocaleString('en-US')} bytes) holding ${RSS_KEYS.toLocaleString('en-US')} keys`,
    row: { name: 'rss', keys: RSS_KEYS },
    figure: 'rssBytes',
    op: '<=',
    threshold: RSS_LIMIT_BYTES,
  },
];

const ratio = (a: number, b: number): number => Math.round((a / b) * 1000) / 1000;

function daemonNodeFlags(): string[] {
  return process.env.TALLYMESH_BENCH_DAEMON_FLAGS?.split(' ').filter(Boolean) ?? [];
}

/** The `ratios` row: every figure a target or the docs compare, from the throughput rows (NaN when a row is missing). */
function ratiosRow(rows: readonly ResultRow[]): ResultRow {
  const fig = (name: string, figure: string): number => {
    const v = rows.find((r) => r.name === name)?.[figure];
    return typeof v === 'number' ? v : Number.NaN;
  };
  const dps = (name: string): number => fig(name, 'decisionsPerSec');
  const cpu = (name: string): number => fig(name, 'serverCpuUsPerDecision');
  return {
    name: 'ratios',
    respSingleVsRedisBucketed: ratio(dps('resp-single'), dps('redis-bucketed-counter')),
    respSingleCpuVsRedisBucketed: ratio(cpu('resp-single'), cpu('redis-bucketed-counter')),
    httpSingleVsRedisBucketed: ratio(dps('http-single'), dps('redis-bucketed-counter')),
    httpSingleCpuVsRedisBucketed: ratio(cpu('http-single'), cpu('redis-bucketed-counter')),
    streamSingleVsRedisBucketed: ratio(dps('stream-single'), dps('redis-bucketed-counter')),
    streamSingleCpuVsRedisBucketed: ratio(cpu('stream-single'), cpu('redis-bucketed-counter')),
    respSingleVsRedisSlidingWindow: ratio(dps('resp-single'), dps('redis-sliding-window')),
    httpSingleVsRedisSlidingWindow: ratio(dps('http-single'), dps('redis-sliding-window')),
    httpBatchVsRedisPipeline: ratio(dps('http-batch'), dps('redis-bucketed-counter-pipeline')),
    streamVsRedisPipeline: ratio(dps('stream'), dps('redis-bucketed-counter-pipeline')),
    respPipelineVsRedisPipeline: ratio(dps('resp-pipeline'), dps('redis-bucketed-counter-pipeline')),
    respPipelineCpuVsRedisPipeline: ratio(cpu('resp-pipeline'), cpu('redis-bucketed-counter-pipeline')),
    // Issue 12: server CPU per ShouldRateLimit call (2 descriptors, 2 decisions) against resp-single's per decision.
    grpcCallCpuVsRespDecision: ratio(2 * cpu('grpc-single'), cpu('resp-single')),
    grpcSingleCpuVsRedisBucketed: ratio(cpu('grpc-single'), cpu('redis-bucketed-counter')),
  };
}

/** Runs every measurement of the scenario and derives the ratio row from them. */
export async function run(options: RunOptions = {}): Promise<ResultRow[]> {
  const offSignals = killChildrenOnSignals();
  const children: ManagedProcess[] = [];
  const rows: ResultRow[] = [];
  const rounds = options.rounds ?? ROUNDS;
  // Files some rows need the daemon to read (e.g. a gRPC row's rate limit config).
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tallymesh-bench-daemon-'));
  try {
    // Installs redis-server from Debian's packages when missing; skips the Redis rows (saying why) where it cannot.
    const redis = ensureRedisServer() ? await startRedisServer() : null;
    if (redis === null) console.error(REDIS_INSTALL_HINT);
    else children.push(redis);
    const present: readonly ThroughputRow[] = THROUGHPUT_ROWS.filter((r) => r.server !== 'redis' || redis !== null);
    const needs = daemonNeeds(present, dir);
    for (const [name, content] of Object.entries(needs.files)) await writeFile(path.join(dir, name), content);
    const daemon = await startDaemonProcess('bench', LIMITER_SPEC, { nodeFlags: daemonNodeFlags(), startArgs: needs.startArgs, ports: needs.ports });
    children.push(daemon);
    const ctx: RowContext = {
      daemon,
      redis,
      keys: new KeyPicker(KEYS),
      limiterName: LIMITER,
      limiter: { limit: LIMIT, windowMs: WINDOW_MS, buckets: BUCKETS },
      inFlight: IN_FLIGHT,
      batchSize: BATCH_SIZE,
    };

    // Best round per row (by decisions/s), with that round's latency and CPU figures.
    const best = new Map<string, ClosedLoopResult & { loadAvg1: number }>();
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? present : [...present].reverse();
      for (const row of order) {
        const client = await row.connect(ctx);
        try {
          const serverPid = row.server === 'redis' ? (redis as ManagedProcess).pid : daemon.pid;
          const r = await closedLoop(client, { inFlight: IN_FLIGHT, warmupMs: WARMUP_MS, durationMs: DURATION_MS, serverPid });
          const loadAvg1 = Math.round(os.loadavg()[0] * 100) / 100;
          console.error(
            `  round ${round + 1} ${row.name}: ${r.decisionsPerSec.toLocaleString('en-US')} decisions/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms,` +
              ` server ${r.serverCpuUsPerDecision} µs CPU/decision (client ${r.clientCpu} cores, server ${r.serverCpu}, others ${r.otherCpu}; load ${loadAvg1})`,
          );
          if (r.decisionsPerSec > (best.get(row.name)?.decisionsPerSec ?? -1)) best.set(row.name, { ...r, loadAvg1 });
        } finally {
          await client.close();
        }
      }
    }
    for (const row of present) {
      const r = best.get(row.name) as ClosedLoopResult & { loadAvg1: number };
      rows.push({
        name: row.name,
        shape: row.shape,
        server: row.server,
        decisionsPerSec: r.decisionsPerSec,
        batchSize: row.shape === 'batched' ? BATCH_SIZE : 1,
        inFlight: IN_FLIGHT,
        connections: row.connections(ctx),
        p50Ms: r.p50Ms,
        p99Ms: r.p99Ms,
        serverCpuUsPerDecision: r.serverCpuUsPerDecision,
        clientCpu: r.clientCpu,
        serverCpu: r.serverCpu,
        otherCpu: r.otherCpu,
        loadAvg1: r.loadAvg1,
      });
    }

    // Latency at half the stream's peak, on the same (warm) daemon.
    const streamPeak = best.get('stream')?.decisionsPerSec ?? Number.NaN;
    const rate = Math.round(streamPeak / 2);
    const metricsBefore = await scrapeMetrics(daemon.url);
    const schedBefore = schedStatOf(daemon.pid);
    const latStarted = process.hrtime.bigint();
    const lat = await pacedStreamLatency(daemon.url, { limiter: LIMITER, keys: ctx.keys, batchSize: BATCH_SIZE, rate, warmupMs: WARMUP_MS, durationMs: DURATION_MS });
    const latSeconds = Number(process.hrtime.bigint() - latStarted) / 1e9;
    const schedAfter = schedStatOf(daemon.pid);
    const metricsAfter = await scrapeMetrics(daemon.url);
    // The daemon's own time per frame (decide, encode, hand to the socket), from its latency histogram:
    // what the round trip would be without the network, the client and the wait for a CPU.
    const serverP99 = histogramQuantileBetween(metricsBefore, metricsAfter, 'tallymesh_decision_latency_seconds', 'api="stream"', 0.99);
    const daemonCpuWaitPct = Math.round(((schedAfter.waitNs - schedBefore.waitNs) / 1e9 / latSeconds) * 1000) / 10;
    console.error(
      `  stream-latency at ${rate.toLocaleString('en-US')} decisions/s: p50 ${lat.p50Ms} ms, p99 ${lat.p99Ms} ms;` +
        ` daemon's own p99 per frame ≤ ${serverP99 * 1000} ms; daemon runnable but waiting for a CPU ${daemonCpuWaitPct}% of the time`,
    );
    rows.push({
      name: 'stream-latency',
      rate,
      achievedRate: lat.achievedRate,
      batchSize: BATCH_SIZE,
      p50Ms: lat.p50Ms,
      p99Ms: lat.p99Ms,
      p999Ms: lat.p999Ms,
      maxMs: lat.maxMs,
      // Bucket upper bound; a string when past the histogram's last finite bucket or without samples.
      serverP99Ms: Number.isFinite(serverP99) ? Math.round(serverP99 * 1e6) / 1000 : String(serverP99 * 1000),
      daemonCpuWaitPct,
    });

    await Promise.all([daemon.stop(), redis?.stop()]);

    // Memory: a fresh daemon, so the figure holds the 1,000,000 keys and nothing the throughput runs left behind.
    const fresh = await startDaemonProcess('bench-rss', LIMITER_SPEC, { nodeFlags: daemonNodeFlags() });
    children.push(fresh);
    await new Promise((r) => setTimeout(r, 500));
    const idleRssBytes = rssBytesOf(fresh.pid);
    const filled = await fillDistinctKeys(fresh.url, LIMITER, RSS_KEYS, FILL_BATCH, FILL_IN_FLIGHT);
    if (filled !== RSS_KEYS) throw new Error(`rss: ${filled} of ${RSS_KEYS} hits answered`);
    await new Promise((r) => setTimeout(r, RSS_SETTLE_MS));
    const rssBytes = rssBytesOf(fresh.pid);
    const metrics = await scrapeMetrics(fresh.url);
    const liveKeys = metricSum(metrics, 'tallymesh_live_keys');
    if (liveKeys !== RSS_KEYS) throw new Error(`rss: the daemon holds ${liveKeys} live keys, expected ${RSS_KEYS}`);
    console.error(`  rss with ${RSS_KEYS.toLocaleString('en-US')} keys: ${(rssBytes / 1e6).toFixed(1)} MB (idle ${(idleRssBytes / 1e6).toFixed(1)} MB)`);
    rows.push({
      name: 'rss',
      keys: RSS_KEYS,
      rssBytes,
      idleRssBytes,
      heapUsedBytes: metricSum(metrics, 'nodejs_heap_size_used_bytes'),
      liveKeys,
    });
    await fresh.stop();

    if (redis !== null) rows.push(ratiosRow(rows));
    return rows;
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    offSignals();
    await rm(dir, { recursive: true, force: true });
  }
}
