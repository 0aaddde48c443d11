/**
 * The four measurements of the mesh scenario, each on a fresh cluster of
 * node processes (see mesh-cluster.ts). Every time compared across processes
 * is read from the machine's monotonic clock (mesh-ipc.ts), so no clock
 * offset estimation is involved.
 */
import { randomBytes } from 'node:crypto';
import * as hdr from 'hdr-histogram-js';
import type { LimiterOptions } from '../../src/index.js';
import { MeshCluster, type ClusterOptions } from './mesh-cluster.js';
import { machineNowMs, type AdmitLogResult, type TrafficResult } from './mesh-ipc.js';
import { maxInWindow, mergeAdmitted } from './mesh-window.js';
import type { ResultRow } from '../lib/scenario.js';

export const NODES = 5;
export const GOSSIP_MS = 20;
export const DIGEST_MS = 1000;
/** Background decisions per second, cluster-wide, generated locally by every node. */
export const LOAD_PER_SEC = 20_000;
/** Load is issued in small batches this often (4,000/s per node: 20 per batch). */
export const LOAD_TICK_MS = 5;
export const BG_KEYS = 10_000;
export const PROBES = 400;
export const HOT_KEYS = 100;
export const IDLE_KEYS = 100_000;
/** New keys per second and node while the idle / join key sets are laid down. */
export const TOUCH_PER_SEC = 4_000;
export const BANDWIDTH_MEASURE_MS = 5_000;
export const ACC_LIMIT = 10_000;
export const ACC_WINDOW_MS = 10_000;
/** 10× the limit per window, cluster-wide. */
export const ACC_OFFERED_PER_SEC = (10 * ACC_LIMIT * 1000) / ACC_WINDOW_MS;
export const ACC_DURATION_MS = 25_000;
export const ACC_INTERVALS = [5, 20, 50, 200] as const;
export const JOIN_KEYS = 100_000;
export const JOIN_CLUSTER = 4;

/** A probe some node still has not counted this long after it was sent is given up (and recorded as this long). */
const PROBE_GIVE_UP_MS = 15_000;
/** Probing stops after this long even if fewer than PROBES were taken (a saturated machine); `samples` tells. */
const PROBE_BUDGET_MS = 45_000;
/** Probes in flight at once. */
const PROBE_LANES = 4;
/** How long laying down and replicating 100,000 keys may take before the measurement fails. */
const REPLICATE_TIMEOUT_MS = 45_000;
/** How long to wait for repairs to stop before measuring anyway. */
const SETTLE_TIMEOUT_MS = 15_000;
/** Unlimited for practical purposes: every background decision is admitted and replicated. */
const HIGH_LIMIT = 1e12;
const LONG_WINDOW_MS = 600_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
const round = (v: number, digits: number): number => Math.round(v * 10 ** digits) / 10 ** digits;
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Progress and diagnostics on stderr, so stdout stays the result table. */
export function log(line: string): void {
  process.stderr.write(`  ${line}\n`);
}

function clusterOptions(limiters: LimiterOptions[], overrides: Partial<ClusterOptions> = {}): ClusterOptions {
  return {
    nodes: NODES,
    gossipIntervalMs: GOSSIP_MS,
    digestIntervalMs: DIGEST_MS,
    suspectAfterMs: 1_000,
    joinTimeoutMs: 2_000,
    // A fresh secret per cluster: the handshake (HMAC over both nonces) runs for real.
    secret: randomBytes(16).toString('hex'),
    limiters,
    ...overrides,
  };
}

/** Starts a cluster, runs `body`, and always closes the cluster (no node process survives). */
async function withCluster<T>(options: ClusterOptions, body: (c: MeshCluster) => Promise<T>): Promise<T> {
  const cluster = await MeshCluster.start(options);
  try {
    return await body(cluster);
  } finally {
    await cluster.close();
  }
}

async function waitUntil(what: string, predicate: () => Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<void> {
  const deadline = machineNowMs() + timeoutMs;
  while (!(await predicate())) {
    if (machineNowMs() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

function startBackgroundLoad(cluster: MeshCluster, limiter: string, prefix: string, keys: number): Promise<unknown[]> {
  const perSec = LOAD_PER_SEC / cluster.nodes.length;
  return cluster.all({ op: 'load', limiter, prefix, keys, perSec, tickMs: LOAD_TICK_MS });
}

// --- convergence --------------------------------------------------------------

/**
 * Probes under background load: node `p mod 5` consumes one hit on a fresh
 * key while the four others poll that key every millisecond; a probe's
 * convergence is the last node's first sighting minus the admitted decision's
 * time. A few probes run at once (each on its own key, so they cannot see
 * each other), which keeps the probe count up when IPC is slow on a busy machine.
 */
export async function measureConvergence(): Promise<ResultRow> {
  const api: LimiterOptions = { name: 'api', limit: HIGH_LIMIT, windowMs: 60_000 };
  return withCluster(clusterOptions([api]), async (cluster) => {
    await startBackgroundLoad(cluster, 'api', 'bg:', BG_KEYS);
    await sleep(2_000);
    // Microseconds, so sub-millisecond differences survive in the histogram.
    const build = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
    const hist = build();
    const recent = build();
    let lost = 0;
    let next = 0;
    const deadline = machineNowMs() + PROBE_BUDGET_MS;
    const probe = async (p: number): Promise<void> => {
      const origin = cluster.nodes[p % cluster.nodes.length];
      const others = cluster.nodes.filter((n) => n !== origin);
      const key = `probe:${p}`;
      await Promise.all(others.map((n) => n.call({ op: 'watch', limiter: 'api', key })));
      // The wait is a safety net against a lost probe, not the measurement: it is
      // generous because on a busy machine the IPC round trips themselves are slow.
      const seen = Promise.all(others.map((n) => n.seen(key, PROBE_GIVE_UP_MS))).then(
        (ts) => Math.max(...ts),
        () => null,
      );
      const t = await origin.call<number>({ op: 'fire', limiter: 'api', key });
      const last = await seen;
      if (last === null) lost++;
      // A probe that never converged counts as the whole wait: it must weigh on the tail.
      const us = Math.max(1, Math.round(((last ?? t + PROBE_GIVE_UP_MS) - t) * 1000));
      hist.recordValue(us);
      recent.recordValue(us);
      if (hist.totalCount % 100 === 0) {
        // Per hundred probes too: shows whether the tail is a start-up effect or spread over the run.
        const ms = (h: typeof hist, pct: number): number => h.getValueAtPercentile(pct) / 1000;
        log(`  ${hist.totalCount} probes: p50 ${ms(hist, 50)} ms, p99 ${ms(hist, 99)} ms (last 100: p50 ${ms(recent, 50)}, p99 ${ms(recent, 99)}, max ${ms(recent, 100)}), ${lost} lost`);
        recent.reset();
      }
    };
    const lane = async (): Promise<void> => {
      while (next < PROBES && machineNowMs() < deadline) {
        await probe(next++);
        // A random pause so probes land at every phase of the gossip tick.
        await sleep(Math.random() * GOSSIP_MS);
      }
    };
    await Promise.all(Array.from({ length: PROBE_LANES }, lane));
    if (next < PROBES) log(`WARNING: probe budget of ${PROBE_BUDGET_MS / 1000} s spent after ${next} probes; reporting those`);
    await cluster.all({ op: 'stopLoad' });
    const ms = (pct: number): number => round(hist.getValueAtPercentile(pct) / 1000, 2);
    log(`convergence: p50 ${ms(50)} ms, p99 ${ms(99)} ms, max ${round(hist.maxValue / 1000, 2)} ms, ${lost} probe(s) never seen within ${PROBE_GIVE_UP_MS / 1000} s`);
    return { name: 'convergence', p50Ms: ms(50), p99Ms: ms(99), samples: hist.totalCount };
  });
}

// --- bandwidth ----------------------------------------------------------------

/** Gossip bytes sent per second per node (summed over its peers, averaged over nodes) during `ms`. */
async function bytesPerSecond(cluster: MeshCluster, ms: number, label: string): Promise<number> {
  const before = await cluster.all<TrafficResult>({ op: 'traffic' });
  await sleep(ms);
  const after = await cluster.all<TrafficResult>({ op: 'traffic' });
  const rates = after.map((a, i) => ((a.bytesOut - before[i].bytesOut) * 1000) / (a.t - before[i].t));
  const cpu = after.map((a, i) => (a.cpuMs - before[i].cpuMs) / (a.t - before[i].t));
  type Counter = 'deltaFrames' | 'digestsSent' | 'repairsAnswered' | 'snapshotChunks' | 'logOverflows';
  const diff = (f: Counter): number => after.reduce((n, a, i) => n + a[f] - before[i][f], 0);
  log(
    `${label}: ${Math.round(mean(rates))} B/s per node (min ${Math.round(Math.min(...rates))}, max ${Math.round(Math.max(...rates))}); ` +
      `cluster-wide in ${ms} ms: ${diff('deltaFrames')} delta frames, ${diff('digestsSent')} digests, ` +
      `${diff('repairsAnswered')} repairs, ${diff('snapshotChunks')} snapshot chunks, ${diff('logOverflows')} log overflows; ` +
      `CPU per node ${cpu.map((c) => `${Math.round(c * 100)}%`).join(' ')}; ` +
      `longest event-loop delay per node ${after.map((a) => `${Math.round(a.loopDelayMaxMs)}`).join(' ')} ms`,
  );
  return mean(rates);
}

/**
 * Gossip bytes/s with load on 100 hot keys; again after 100,000 idle keys
 * (one hit each, still inside the 10-minute window) have replicated and
 * settled; and what shipping the full live state every interval would cost.
 */
export async function measureBandwidth(): Promise<ResultRow> {
  const bw: LimiterOptions = { name: 'bw', limit: HIGH_LIMIT, windowMs: LONG_WINDOW_MS };
  return withCluster(clusterOptions([bw]), async (cluster) => {
    const sizes = (): Promise<number[]> => cluster.all<number>({ op: 'size', limiter: 'bw' });
    await startBackgroundLoad(cluster, 'bw', 'hot:', HOT_KEYS);
    // Past the first digest rounds and the start-up snapshots.
    await sleep(3 * DIGEST_MS);
    const hotOnly = await bytesPerSecond(cluster, BANDWIDTH_MEASURE_MS, 'hot keys only');

    const perNode = IDLE_KEYS / cluster.nodes.length;
    const t0 = machineNowMs();
    await cluster.all((i) => ({ op: 'touch', limiter: 'bw', prefix: 'idle:', from: i * perNode, to: (i + 1) * perNode, perSec: TOUCH_PER_SEC }));
    await waitUntil('idle keys replicated', async () => (await sizes()).every((n) => n === HOT_KEYS + IDLE_KEYS), REPLICATE_TIMEOUT_MS);
    log(`idle keys: ${IDLE_KEYS.toLocaleString('en-US')} touched and held by every node after ${Math.round(machineNowMs() - t0)} ms`);
    await settle(cluster);
    const withIdle = await bytesPerSecond(cluster, BANDWIDTH_MEASURE_MS, `with ${IDLE_KEYS.toLocaleString('en-US')} idle keys`);
    const held = await sizes();
    if (!held.every((n) => n === HOT_KEYS + IDLE_KEYS)) throw new Error(`idle keys vanished during the measurement: ${held.join(', ')}`);

    const snapshot = await cluster.all<number>({ op: 'snapshotBytes', limiter: 'bw' });
    const fullState = mean(snapshot) * (1000 / GOSSIP_MS) * (cluster.nodes.length - 1);
    log(`full snapshot of the live window: ${Math.round(mean(snapshot)).toLocaleString('en-US')} bytes per node`);
    await cluster.all({ op: 'stopLoad' });
    return {
      name: 'bandwidth',
      hotOnlyBytesPerSec: Math.round(hotOnly),
      withIdleBytesPerSec: Math.round(withIdle),
      fullStateBytesPerSec: Math.round(fullState),
      ratioIdle: round(withIdle / hotOnly, 3),
      ratioFull: round(fullState / withIdle, 1),
    };
  });
}

/**
 * Waits until the replication caused by the idle keys is over: no repair and
 * no snapshot chunk anywhere for three digest intervals in a row. Gives up
 * (and measures anyway, saying so) after SETTLE_TIMEOUT_MS: a cluster that never settles
 * is itself the finding.
 */
async function settle(cluster: MeshCluster): Promise<void> {
  const busy = (ts: TrafficResult[]): number => ts.reduce((n, t) => n + t.repairsAnswered + t.snapshotChunks, 0);
  const t0 = machineNowMs();
  let last = busy(await cluster.all<TrafficResult>({ op: 'traffic' }));
  let quietSince = machineNowMs();
  while (machineNowMs() - quietSince < 3 * DIGEST_MS) {
    if (machineNowMs() - t0 > SETTLE_TIMEOUT_MS) {
      log(`WARNING: repairs never stopped within ${SETTLE_TIMEOUT_MS / 1000} s; measuring anyway`);
      return;
    }
    await sleep(250);
    const now = busy(await cluster.all<TrafficResult>({ op: 'traffic' }));
    if (now !== last) quietSince = machineNowMs();
    last = now;
  }
  log(`settled: no repairs or snapshot chunks for ${3 * DIGEST_MS} ms (after ${Math.round(machineNowMs() - t0)} ms)`);
}

// --- accuracy -----------------------------------------------------------------

/**
 * One key, limit 10,000 per 10 s shared by 5 nodes, offered 10× the limit
 * evenly; the largest number of admitted hits in any 10 s window that starts
 * after one window of warm-up, from the generators' own logs, over the limit.
 */
export async function measureAccuracy(gossipIntervalMs: number): Promise<ResultRow> {
  const acc: LimiterOptions = { name: 'acc', limit: ACC_LIMIT, windowMs: ACC_WINDOW_MS };
  return withCluster(clusterOptions([acc], { gossipIntervalMs }), async (cluster) => {
    const startAt = machineNowMs() + 500;
    const logs = await cluster.all<AdmitLogResult>(
      {
        op: 'admitLog',
        limiter: 'acc',
        key: 'tenant:1',
        startAt,
        durationMs: ACC_DURATION_MS,
        perSec: ACC_OFFERED_PER_SEC / cluster.nodes.length,
        tickMs: LOAD_TICK_MS,
      },
      ACC_DURATION_MS + 30_000,
    );
    const admitted = mergeAdmitted(logs.map((l) => l.admitted));
    const offered = logs.reduce((n, l) => n + l.offered, 0);
    const steady = maxInWindow(admitted, ACC_WINDOW_MS, startAt + ACC_WINDOW_MS);
    const withWarmup = maxInWindow(admitted, ACC_WINDOW_MS);
    log(
      `accuracy @ ${gossipIntervalMs} ms: offered ${offered.toLocaleString('en-US')}, admitted ${admitted.length.toLocaleString('en-US')}; ` +
        `max in a 10 s window ${steady.toLocaleString('en-US')} after warm-up (${withWarmup.toLocaleString('en-US')} counting the first window)`,
    );
    return { name: 'accuracy', gossipIntervalMs, admittedRatio: round(steady / ACC_LIMIT, 4) };
  });
}

// --- join ---------------------------------------------------------------------

/**
 * A 4-node cluster holding 100,000 live keys (spread over the nodes,
 * replicated, settled); a fifth process joins through one seed and times
 * `createMesh` → `whenReady()`, counting the keys it holds then.
 */
export async function measureJoin(): Promise<ResultRow> {
  const join: LimiterOptions = { name: 'join', limit: HIGH_LIMIT, windowMs: LONG_WINDOW_MS };
  return withCluster(clusterOptions([join], { nodes: JOIN_CLUSTER }), async (cluster) => {
    const perNode = JOIN_KEYS / cluster.nodes.length;
    const t0 = machineNowMs();
    await cluster.all((i) => ({ op: 'touch', limiter: 'join', prefix: 'k:', from: i * perNode, to: (i + 1) * perNode, perSec: TOUCH_PER_SEC }));
    await waitUntil(
      'join keys replicated',
      async () => (await cluster.all<number>({ op: 'size', limiter: 'join' })).every((n) => n === JOIN_KEYS),
      REPLICATE_TIMEOUT_MS,
    );
    log(`join keys: ${JOIN_KEYS.toLocaleString('en-US')} laid down and held by all ${JOIN_CLUSTER} nodes after ${Math.round(machineNowMs() - t0)} ms`);
    await settle(cluster);
    const { start } = await cluster.addNode(`n${JOIN_CLUSTER}`, [cluster.nodes[0].address], true);
    const readyMs = Math.round(start.readyMs ?? Number.NaN);
    const keysAtReady = start.keysAtReady?.join ?? Number.NaN;
    log(`join: ready after ${readyMs} ms holding ${keysAtReady.toLocaleString('en-US')} of ${JOIN_KEYS.toLocaleString('en-US')} keys`);
    // Not a figure, a sanity check: the joiner ends up a full member.
    await cluster.waitLive(10_000).catch((err: unknown) => log(`WARNING: after joining: ${err instanceof Error ? err.message : String(err)}`));
    return { name: 'join', keys: JOIN_KEYS, readyMs, keysAtReady };
  });
}
