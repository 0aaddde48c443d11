/**
 * Load shapes of the daemon scenario: a closed loop at fixed concurrency for
 * peak throughput, a paced open loop for latency at a given rate, and a bulk
 * fill of distinct keys for memory. Also reads the daemon's `/metrics`.
 */
import http from 'node:http';
import * as hdr from 'hdr-histogram-js';
import { busyCpuSecondsOfMachine, cpuSecondsOf } from './daemon-processes.js';
import { type Client, type KeyPicker, StreamConnection, streamBatch } from './daemon-clients.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const nowNs = (): bigint => process.hrtime.bigint();

/** Options of {@link closedLoop}. */
export interface ClosedLoopOptions {
  /** Requests kept in flight: each worker issues its next request when the previous one is answered. */
  inFlight: number;
  warmupMs: number;
  durationMs: number;
  /** The server process (daemon or redis-server) whose CPU use is reported. */
  serverPid: number;
}

/** What a closed loop measured over its timed window. */
export interface ClosedLoopResult {
  decisionsPerSec: number;
  /** Requests answered per second (a batch is one request). */
  requestsPerSec: number;
  /** Round trip of one request (a batch is one request), sent to answer checked, answered in the timed window. */
  p50Ms: number;
  p99Ms: number;
  /**
   * The server's CPU time (user + system, every thread, /proc/<pid>/stat) in
   * the timed window divided by the decisions answered in it, in µs: the cost
   * that holds when the client, not the server, is the bottleneck.
   */
  serverCpuUsPerDecision: number;
  /** CPU used by this (client) process, in cores: 1 = one core busy the whole window. */
  clientCpu: number;
  /** CPU used by the server process, in cores. */
  serverCpu: number;
  /** CPU every other process of the machine used meanwhile (/proc/stat less client and server), in cores: the shared machine's noise. */
  otherCpu: number;
}

/**
 * Keeps `inFlight` requests outstanding for `warmupMs + durationMs`; counts
 * the decisions answered inside the timed window (after the warm-up) and the
 * CPU both sides used in it. The first failed request aborts the run.
 */
export async function closedLoop(client: Client, o: ClosedLoopOptions): Promise<ClosedLoopResult> {
  let decisions = 0;
  let requests = 0;
  let stop = false;
  let timing = false;
  const hist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  let failure: unknown;
  let abort: () => void = () => {};
  const aborted = new Promise<void>((resolve) => (abort = resolve));
  const worker = async (): Promise<void> => {
    while (!stop) {
      try {
        const t0 = timing ? nowNs() : 0n;
        // Not `decisions += await …`: that reads `decisions` before awaiting and loses the other workers' counts.
        const n = await client.issue();
        decisions += n;
        requests++;
        // Requests both sent and answered inside the timed window.
        if (timing && t0 !== 0n) hist.recordValue(Math.max(1, Math.round(Number(nowNs() - t0) / 1000)));
      } catch (err) {
        failure ??= err;
        stop = true;
        abort();
      }
    }
  };
  const workers = Array.from({ length: o.inFlight }, worker);
  /** Sleeps `ms`, or less when a request failed: a dead server should end the run now, not after the window. */
  const wait = async (ms: number): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))), aborted]);
    clearTimeout(timer);
    if (failure !== undefined) {
      await Promise.all(workers);
      throw failure;
    }
  };
  const sample = () => ({ t: nowNs(), decisions, requests, client: process.cpuUsage(), server: cpuSecondsOf(o.serverPid), machine: busyCpuSecondsOfMachine() });
  try {
    await wait(o.warmupMs);
    const a = sample();
    timing = true;
    await wait(o.durationMs);
    timing = false;
    const b = sample();
    stop = true;
    await Promise.all(workers);
    if (failure !== undefined) throw failure;
    const seconds = Number(b.t - a.t) / 1e9;
    const clientCpuSeconds = (b.client.user + b.client.system - (a.client.user + a.client.system)) / 1e6;
    const serverCpuSeconds = b.server - a.server;
    const us = (p: number): number => round3(hist.getValueAtPercentile(p) / 1000);
    return {
      decisionsPerSec: Math.round((b.decisions - a.decisions) / seconds),
      requestsPerSec: Math.round((b.requests - a.requests) / seconds),
      p50Ms: us(50),
      p99Ms: us(99),
      serverCpuUsPerDecision: round3((serverCpuSeconds * 1e6) / (b.decisions - a.decisions)),
      clientCpu: round2(clientCpuSeconds / seconds),
      serverCpu: round2(serverCpuSeconds / seconds),
      otherCpu: round2(Math.max(0, b.machine - a.machine - clientCpuSeconds - serverCpuSeconds) / seconds),
    };
  } finally {
    stop = true;
    hist.destroy();
  }
}

const round2 = (x: number): number => Math.round(x * 100) / 100;
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Options of {@link pacedStreamLatency}. */
export interface PacedOptions {
  limiter: string;
  keys: KeyPicker;
  batchSize: number;
  /** Offered load in decisions per second (batches per second × batchSize). */
  rate: number;
  warmupMs: number;
  durationMs: number;
}

/** Latency of stream frames at a fixed offered rate. */
export interface PacedResult {
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** Decisions per second actually answered in the timed window. */
  achievedRate: number;
  /** Frames timed. */
  batches: number;
}

/**
 * Sends stream frames of `batchSize` requests on one connection on a fixed
 * schedule (open loop: the next frame does not wait for earlier answers) and
 * records each frame's round trip — from handing it to the socket to reading
 * its decoded answer — in an HDR histogram (microsecond resolution). Frames
 * due in the same timer tick (timers fire at most every millisecond) go out
 * back to back; frames sent during the warm-up are not recorded.
 */
export async function pacedStreamLatency(baseUrl: string, o: PacedOptions): Promise<PacedResult> {
  const conn = await StreamConnection.open(baseUrl);
  const hist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  try {
    const intervalNs = 1e9 / (o.rate / o.batchSize);
    const start = nowNs();
    const recordFrom = start + BigInt(o.warmupMs) * 1_000_000n;
    const end = recordFrom + BigInt(o.durationMs) * 1_000_000n;
    let sent = 0;
    let recorded = 0;
    let recordedDecisions = 0;
    let failure: unknown;
    const inFlight = new Set<Promise<void>>();
    const fire = (): void => {
      const batch = streamBatch(o.limiter, o.keys, o.batchSize);
      const t0 = nowNs();
      const timed = t0 >= recordFrom;
      const p = conn.send(batch).then(
        (n) => {
          const t1 = nowNs();
          if (timed && t1 <= end) {
            hist.recordValue(Math.max(1, Math.round(Number(t1 - t0) / 1000)));
            recorded++;
            recordedDecisions += n;
          }
        },
        (err: unknown) => {
          failure ??= err;
        },
      );
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    };
    for (;;) {
      const now = nowNs();
      if (now >= end || failure !== undefined) break;
      // Every frame whose scheduled time has come, then sleep until the next one is due.
      while (start + BigInt(Math.round(sent * intervalNs)) <= now) {
        fire();
        sent++;
      }
      const dueInMs = Number(start + BigInt(Math.round(sent * intervalNs)) - nowNs()) / 1e6;
      await sleep(Math.max(0, Math.floor(dueInMs)));
    }
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
    const us = (p: number): number => round3(hist.getValueAtPercentile(p) / 1000);
    return {
      p50Ms: us(50),
      p99Ms: us(99),
      p999Ms: us(99.9),
      maxMs: round3(hist.maxValue / 1000),
      achievedRate: Math.round(recordedDecisions / (o.durationMs / 1000)),
      batches: recorded,
    };
  } finally {
    hist.destroy();
    await conn.close();
  }
}

/**
 * Consumes once on each of `count` distinct keys (`<prefix>0` …) through one
 * stream connection, `batchSize` requests per frame, at most `inFlight`
 * frames outstanding. Resolves with the decisions answered.
 */
export async function fillDistinctKeys(baseUrl: string, limiter: string, count: number, batchSize: number, inFlight: number, prefix = 'fill:'): Promise<number> {
  const conn = await StreamConnection.open(baseUrl);
  try {
    let next = 0;
    let answered = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const from = next;
        const to = Math.min(count, from + batchSize);
        next = to;
        const batch = new Array<[string, string]>(to - from);
        for (let i = from; i < to; i++) batch[i - from] = [limiter, `${prefix}${i}`];
        const n = await conn.send(batch);
        answered += n;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    return answered;
  } finally {
    await conn.close();
  }
}

/** `GET <baseUrl>/metrics`, parsed into `name{labels}` → value (only the samples, no comments). */
export async function scrapeMetrics(baseUrl: string): Promise<Map<string, number>> {
  const text = await new Promise<string>((resolve, reject) => {
    http
      .get(`${baseUrl}/metrics`, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET /metrics answered ${res.statusCode}`))));
        res.on('error', reject);
      })
      .on('error', reject);
  });
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/** Sum of every sample of metric `name` (across its labels). */
export function metricSum(samples: Map<string, number>, name: string): number {
  let sum = 0;
  let found = false;
  for (const [k, v] of samples) {
    if (k === name || k.startsWith(`${name}{`)) {
      sum += v;
      found = true;
    }
  }
  return found ? sum : Number.NaN;
}

/**
 * The `q` quantile of the observations a Prometheus histogram gained between
 * two scrapes, as the upper bound (`le`, in the metric's unit) of the bucket
 * holding it — `Infinity` past the last finite bucket, `NaN` with no
 * observations. Only series whose labels contain `labelMatch` (e.g.
 * `api="stream"`) count.
 */
export function histogramQuantileBetween(before: Map<string, number>, after: Map<string, number>, name: string, labelMatch: string, q: number): number {
  const buckets: Array<{ le: number; count: number }> = [];
  for (const [series, value] of after) {
    if (!series.startsWith(`${name}_bucket{`) || !series.includes(labelMatch)) continue;
    const le = /le="([^"]+)"/.exec(series)?.[1];
    if (le === undefined) continue;
    buckets.push({ le: le === '+Inf' ? Infinity : Number(le), count: value - (before.get(series) ?? 0) });
  }
  buckets.sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0) return Number.NaN;
  return buckets.find((b) => b.count >= q * total)?.le ?? Infinity;
}
