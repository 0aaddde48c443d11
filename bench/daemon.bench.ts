/**
 * Scenario "daemon": decisions per second a client process gets from one
 * tallymesh daemon (started through the real CLI in its own process) over
 * HTTP single requests, HTTP batches and the `/v1/stream` WebSocket, against
 * the usual Redis answer — a sorted-set sliding window in one Lua script —
 * driven from the same client process at the same concurrency; plus stream
 * latency at half the stream's peak, and the RSS of a daemon holding
 * 1,000,000 keys.
 *
 * The benchmark process is the client. Children (the daemon, a fresh daemon
 * for the memory figure, redis-server) are killed when the run ends, fails or
 * is interrupted. Extra node flags for the daemons come from
 * TALLYMESH_BENCH_DAEMON_FLAGS, e.g. "--cpu-prof --cpu-prof-dir=prof".
 *
 * A missing redis-server is installed from Debian's packages first
 * (`scripts/bench-prereqs.sh`, as root with apt-get); where it cannot be, or
 * with TALLYMESH_BENCH_INSTALL=0, the Redis row is skipped, saying why.
 */
import { redisClient, httpBatchClient, httpSingleClient, keepAliveAgent, KeyPicker, streamClient, type Client } from './daemon/daemon-clients.js';
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
import type { ResultRow } from './lib/scenario.js';
import type { Target } from './lib/targets.js';

const LIMITER = 'api';
/** So high that every request is admitted: every competitor takes the same (admit) path. */
const LIMIT = 1_000_000_000;
const WINDOW_MS = 60_000;
const LIMITER_SPEC = `name=${LIMITER},limit=${LIMIT},window=${WINDOW_MS / 1000}s`;
const KEYS = 10_000;
/**
 * Requests in flight for every throughput target: a busy service with a few
 * dozen concurrent handlers. HTTP/1.1 has one request per socket, so the HTTP
 * rows use that many keep-alive sockets; Redis and the stream pipeline them
 * on one connection, as their clients are meant to be used.
 */
const IN_FLIGHT = 32;
const HTTP_SOCKETS = IN_FLIGHT;
const BATCH_SIZE = 100;
const WARMUP_MS = 1_000;
const DURATION_MS = 5_000;
/** Throughput rounds, order reversed every other round; the best round of each target counts. */
const ROUNDS = 2;
/** ioredis autopipelining off (its default): measured faster than on for this load on this machine, so Redis gets the better of the two. */
const REDIS_AUTO_PIPELINING = false;
const RSS_KEYS = 1_000_000;
/** 1,000 is the largest frame the stream accepts; the fill is setup, not a measurement. */
const FILL_BATCH = 1_000;
const FILL_IN_FLIGHT = 8;
/** Idle time before reading RSS, so it reflects the settled process rather than the fill's last allocation burst. */
const RSS_SETTLE_MS = 2_000;
const RSS_LIMIT_BYTES = 500_000_000;

type Throughput = 'redis-sliding-window' | 'http-single' | 'http-batch' | 'stream';
const THROUGHPUT: readonly Throughput[] = ['redis-sliding-window', 'http-single', 'http-batch', 'stream'];

/** Printed by the runner and copied into docs/benchmarks.md. */
export const description = [
  `One daemon (\`tallymesh start\`, its own process, limiter limit ${LIMIT.toExponential()} per ${WINDOW_MS / 1000} s so every request is admitted)`,
  `and redis-server ${'(loopback, no persistence)'} on the same machine; the benchmark process is the only client. Each throughput row keeps`,
  `${IN_FLIGHT} requests in flight for ${DURATION_MS / 1000} s after a ${WARMUP_MS / 1000} s warm-up, keys drawn uniformly from ${KEYS.toLocaleString('en-US')},`,
  `best of ${ROUNDS} rounds run in alternating order. redis-sliding-window: one EVALSHA per decision of a Lua script doing`,
  'ZREMRANGEBYSCORE + ZCARD + ZADD + PEXPIRE on a sorted set per key, through one ioredis connection (its default, no autopipelining: the faster setting here).',
  `http-single: \`POST /v1/consume\` with one request, over ${HTTP_SOCKETS} keep-alive sockets (node:http Agent); http-batch: the same with`,
  `\`{requests}\` of ${BATCH_SIZE}; stream: \`/v1/stream\` frames of ${BATCH_SIZE} pipelined on one WebSocket. Every answer is parsed and checked.`,
  'clientCpu/serverCpu: cores used by the client process and by the daemon (or redis-server) in the timed window, from /proc.',
  `stream-latency: frames of ${BATCH_SIZE} on one WebSocket, paced open-loop at half the stream row's decisions/s; each frame's round trip`,
  `(sent to answer decoded) in an HDR histogram, ${DURATION_MS / 1000} s after a ${WARMUP_MS / 1000} s warm-up; serverP99Ms: the daemon's own`,
  'time per frame at p99 (upper bound of its tallymesh_decision_latency_seconds bucket); daemonCpuWaitPct: share of that window',
  "the daemon's event-loop thread was runnable but waiting for a CPU (/proc/<pid>/schedstat), the machine's contribution to the tail.",
  `rss: a fresh daemon after one hit on each of ${RSS_KEYS.toLocaleString('en-US')} distinct keys (stream frames of ${FILL_BATCH.toLocaleString('en-US')}),`,
  `VmRSS from /proc after ${RSS_SETTLE_MS / 1000} s idle; liveKeys from its /metrics.`,
].join(' ');

/** Goals from the issue, evaluated on the `ratios`, `stream-latency` and `rss` rows. */
export const targets: readonly Target[] = [
  {
    id: 'http-batch-vs-redis',
    description: `http-batch (${BATCH_SIZE} per request) decisions/s ≥ 3× redis-sliding-window`,
    row: { name: 'ratios' },
    figure: 'httpBatchVsRedis',
    op: '>=',
    threshold: 3,
  },
  {
    id: 'stream-vs-redis',
    description: `stream (${BATCH_SIZE} per frame) decisions/s ≥ 3× redis-sliding-window`,
    row: { name: 'ratios' },
    figure: 'streamVsRedis',
    op: '>=',
    threshold: 3,
  },
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

/** Runs every measurement of the scenario and derives the ratio row from them. */
export async function run(): Promise<ResultRow[]> {
  const offSignals = killChildrenOnSignals();
  const children: ManagedProcess[] = [];
  const rows: ResultRow[] = [];
  try {
    // Installs redis-server from Debian's packages when missing; skips the Redis row (saying why) where it cannot.
    const redis = ensureRedisServer() ? await startRedisServer() : null;
    if (redis === null) console.error(REDIS_INSTALL_HINT);
    else children.push(redis);
    const daemon = await startDaemonProcess('bench', LIMITER_SPEC, daemonNodeFlags());
    children.push(daemon);
    const keys = new KeyPicker(KEYS);

    const connect = async (target: Throughput): Promise<{ client: Client; serverPid: number }> => {
      switch (target) {
        case 'redis-sliding-window': {
          if (redis === null) throw new Error('unreachable: redis skipped');
          const client = await redisClient({ port: redis.port, limiter: LIMITER, limit: LIMIT, windowMs: WINDOW_MS, keys, autoPipelining: REDIS_AUTO_PIPELINING });
          return { client, serverPid: redis.pid };
        }
        case 'http-single':
          return { client: httpSingleClient(daemon.url, keepAliveAgent(HTTP_SOCKETS), LIMITER, keys), serverPid: daemon.pid };
        case 'http-batch':
          return { client: httpBatchClient(daemon.url, keepAliveAgent(HTTP_SOCKETS), LIMITER, keys, BATCH_SIZE), serverPid: daemon.pid };
        case 'stream':
          return { client: await streamClient(daemon.url, LIMITER, keys, BATCH_SIZE), serverPid: daemon.pid };
      }
    };

    // Best round per target (by decisions/s), with that round's CPU figures.
    const best = new Map<Throughput, ClosedLoopResult>();
    const present = THROUGHPUT.filter((t) => t !== 'redis-sliding-window' || redis !== null);
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? present : [...present].reverse();
      for (const target of order) {
        const { client, serverPid } = await connect(target);
        try {
          const r = await closedLoop(client, { inFlight: IN_FLIGHT, warmupMs: WARMUP_MS, durationMs: DURATION_MS, serverPid });
          console.error(`  round ${round + 1} ${target}: ${r.decisionsPerSec.toLocaleString('en-US')} decisions/s (client ${r.clientCpu} cores, server ${r.serverCpu} cores)`);
          if (r.decisionsPerSec > (best.get(target)?.decisionsPerSec ?? -1)) best.set(target, r);
        } finally {
          await client.close();
        }
      }
    }
    for (const target of present) {
      const r = best.get(target) as ClosedLoopResult;
      const batched = target === 'http-batch' || target === 'stream';
      rows.push({
        name: target,
        decisionsPerSec: r.decisionsPerSec,
        batchSize: batched ? BATCH_SIZE : 1,
        inFlight: IN_FLIGHT,
        connections: target.startsWith('http') ? HTTP_SOCKETS : 1,
        clientCpu: r.clientCpu,
        serverCpu: r.serverCpu,
      });
    }

    // Latency at half the stream's peak, on the same (warm) daemon.
    const streamPeak = best.get('stream')?.decisionsPerSec ?? Number.NaN;
    const rate = Math.round(streamPeak / 2);
    const metricsBefore = await scrapeMetrics(daemon.url);
    const schedBefore = schedStatOf(daemon.pid);
    const latStarted = process.hrtime.bigint();
    const lat = await pacedStreamLatency(daemon.url, { limiter: LIMITER, keys, batchSize: BATCH_SIZE, rate, warmupMs: WARMUP_MS, durationMs: DURATION_MS });
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
    const fresh = await startDaemonProcess('bench-rss', LIMITER_SPEC, daemonNodeFlags());
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

    if (redis !== null) {
      const dps = (name: string): number => {
        const v = rows.find((r) => r.name === name)?.decisionsPerSec;
        return typeof v === 'number' ? v : Number.NaN;
      };
      const redisDps = dps('redis-sliding-window');
      rows.push({
        name: 'ratios',
        httpSingleVsRedis: ratio(dps('http-single'), redisDps),
        httpBatchVsRedis: ratio(dps('http-batch'), redisDps),
        streamVsRedis: ratio(dps('stream'), redisDps),
      });
    }
    return rows;
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    offSignals();
  }
}
