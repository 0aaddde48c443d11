/**
 * Hostile clients against a real daemon started through the CLI
 * (`tallymesh start` on 127.0.0.1), on every path of its one port — the
 * HTTP API, `/v1/events`, the `/v1/stream` WebSocket and the peers'
 * `/v1/mesh` — all at once:
 *
 * - slowloris: connections that never send a byte, API headers trickled a
 *   byte at a time, a body trickled on `POST /v1/consume`, WebSocket
 *   upgrades to `/v1/stream` and `/v1/mesh` whose request never ends — each
 *   cut with a 408 by the daemon's headers or request timeout, on time;
 * - event-stream clients that never read while the node publishes events
 *   at full rate — each cut once its backlog passes the per-client bound,
 *   while an event client that reads is kept;
 * - hundreds of half-open upgrades to `/v1/mesh` from 20 addresses (the
 *   upgrade request, then nothing), each reopened as soon as it is cut or
 *   refused until the honest peer joined — no more held at once than the
 *   pending-handshake cap, each cut by the handshake timeout or evicted, and
 *   an honest peer joins within {@link PEER_JOIN_BOUND_MS} and an honest
 *   stream client connects while the cap is full;
 * - `/v1/stream` clients that upgrade and then send nothing, or half a
 *   frame — each cut by the stream heartbeat;
 * - oversized headers (100 KB lines, 5,000 headers, a 100 KB target) —
 *   431 or a close, never a crash; pipelined requests followed by junk,
 *   junk before any request line, junk after an upgrade — closed, no 5xx.
 *
 * Throughout, an honest client (in a worker thread) consumes at 100
 * requests/s over a keep-alive connection, its latency in an HDR histogram per phase (before the attack,
 * during it). Asserted: every honest request answered 200 and allowed, its
 * p99 under attack below {@link P99_BOUND_MS}, the daemon's RSS below
 * {@link RSS_BOUND_BYTES}, its sockets back to their baseline once the
 * attack is over, the process alive. The figures are printed (and written
 * to .tmp/fuzz/summary.json).
 *
 * Needs `npm run build` first (`npm run fuzz` does it). TALLYMESH_FAULTS_CLI
 * points it at another build of the CLI (see hostile/cli-daemon.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS, TIMEOUT_CHECK_INTERVAL_MS } from '../../src/daemon/daemon.js';
import { DEFAULT_STREAM_BOUNDS } from '../../src/daemon/http/stream-api.js';
import { decodeStreamResponse, encodeStreamRequest } from '../../src/stream/stream-codec.js';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from '../../transport/options.js';
import { createPrng } from '../../transport/sim/prng.js';
import { DEFAULT_MAX_PENDING_HANDSHAKES, DEFAULT_MAX_PENDING_HANDSHAKES_PER_ADDRESS } from '../../transport/ws/ws-transport.js';
import { eventually } from '../cli/cli-process.js';
import { requestJson } from '../faults/http.js';
import { frameHeader, rawUpgrade, type RawUpgrade } from '../helpers/raw-ws.js';
import { startCliDaemon, type CliDaemon } from './hostile/cli-daemon.js';
import { metricValue, ProcessSampler, scrape, socketCount } from './hostile/daemon-probe.js';
import { HonestLoad } from './hostile/honest-load.js';
import { RawConn } from './hostile/raw-conn.js';
import { garbageCases, meshGarbageCase, oversizedCases, runRawCase, type RawOutcome } from './hostile/raw-http.js';
import { slowRequests, startSlowGroup, type SlowGroup } from './hostile/slowloris.js';
import { SCALE, SEED, summary } from './fuzz-env.js';

const MiB = 1024 * 1024;
/** Slow connections per kind (five kinds). */
const SLOW_PER_KIND = 20 * SCALE;
/** One byte per slow connection every this many ms. */
const TRICKLE_MS = 100;
/** Event clients that never read. */
const SSE_NON_READERS = 10;
/** Denials per flood request, and the most flood requests sent. */
const FLOOD_BATCH = 100;
const MAX_FLOOD_REQUESTS = 4_000;
/** Half-open upgrades: from this many loopback addresses, this many each (under the per-address cap, so the global cap is what bites). */
const HALF_OPEN_ADDRESSES = 20;
const HALF_OPEN_PER_ADDRESS = Math.min(15, DEFAULT_MAX_PENDING_HANDSHAKES_PER_ADDRESS - 1);
/** Stream clients that upgrade and fall silent, and that send half a frame. */
const SILENT_STREAMS = 10;
/**
 * How long the honest peer may take to become live while the half-open flood
 * keeps the handshake slots full (two round trips once admitted; the rest is
 * its redial backoff and a loaded machine). Before eviction it never joined.
 */
const PEER_JOIN_BOUND_MS = 10_000;
/** What the transport adds to the handshake timeout before it cuts a socket that ignores its close frame (CLOSE_GRACE_MS of ws-transport.ts). */
const HANDSHAKE_CLOSE_GRACE_MS = 1_000;
/** Scheduling slack on a loaded 2-core machine, added to every "closed within" bound. */
const SLACK_MS = 3_000;
const HEADERS_BOUND_MS = HEADERS_TIMEOUT_MS + TIMEOUT_CHECK_INTERVAL_MS + SLACK_MS;
const REQUEST_BOUND_MS = REQUEST_TIMEOUT_MS + TIMEOUT_CHECK_INTERVAL_MS + SLACK_MS;
const HANDSHAKE_BOUND_MS = DEFAULT_HANDSHAKE_TIMEOUT_MS + HANDSHAKE_CLOSE_GRACE_MS + SLACK_MS;
/** A stream client that answers no ping is cut at the second heartbeat after it opened. */
const STREAM_DEAD_BOUND_MS = 2 * DEFAULT_STREAM_BOUNDS.pingIntervalMs + SLACK_MS;
/** The honest client: one consume every 10 ms; 5 s of it before the attack. */
const HONEST_INTERVAL_MS = 10;
const BASELINE_MS = 5_000;
/**
 * Bound on the honest client's p99 while the attack runs. Measured on a
 * 2-core machine shared with other work (both printed): p99 5–30 ms without
 * attack, 14–40 ms under it (max 37–84 ms). The attack is ~400 hostile
 * connections at a time plus a flood of denial batches fanned out to 11
 * event clients, on the same 2 cores as the test and two daemons. 250 ms is
 * 6× the worst p99 seen under attack — room for a loaded CI runner — while
 * a stall like the one this suite found (event clients cut at ~80 ms each:
 * p99 520–1,400 ms) or a slow socket never cut is far past it.
 */
const P99_BOUND_MS = 250;
/**
 * Bound on the daemon's RSS during the attack. Idle it holds ~70 MiB; the
 * attack takes it to ~120 MiB (both printed): the backlogs of the event
 * clients that never read (10 × 1 MiB plus node's bookkeeping of thousands
 * of pending chunks each), ~400 connections, parser and response buffers.
 * 200 MiB leaves room for GC timing; a backlog kept past its bound would
 * pass it (with the per-client bound removed the flood took it to 2.6 GiB),
 * as would headers buffered past 16 KiB per slow socket.
 */
const RSS_BOUND_BYTES = 200 * MiB;

const dir = mkdtempSync(join(tmpdir(), 'tallymesh-hostile-'));
const secretFile = join(dir, 'secret');
writeFileSync(secretFile, 'a-shared-secret-for-the-hostile-client-suite\n', { mode: 0o600 });
const spawned: CliDaemon[] = [];
afterAll(() => {
  for (const d of spawned) d.kill();
  rmSync(dir, { recursive: true, force: true });
});

async function start(id: string, extra: string[] = []): Promise<CliDaemon> {
  const d = await startCliDaemon([
    ...['--id', id, '--port', '0', '--secret-file', secretFile, '--log-level', 'warn', '--events-denied-per-sec', '100000'],
    ...['--limiter', 'name=api,limit=1000000000,window=60s', '--limiter', 'name=den,limit=1,window=60s', ...extra],
  ]);
  spawned.push(d);
  return d;
}

/** Resolves with `promise`'s value, or rejects after `ms`. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** An honest /v1/stream client: connects, asks for one decision, says how long that took, and leaves. */
async function honestStream(address: string): Promise<number> {
  const t0 = performance.now();
  const ws = new WebSocket(`ws://${address}/v1/stream`);
  ws.on('error', () => {});
  try {
    await within(5_000, 'honest stream client open', new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('close', () => reject(new Error('honest stream client closed before opening')));
    }));
    const answer = await within(5_000, 'honest stream answer', new Promise<Buffer>((resolve) => {
      ws.once('message', (data) => resolve(data as Buffer));
      ws.send(encodeStreamRequest(1, [{ limiter: 'api', key: 'stream-honest' }]));
    }));
    const decision = decodeStreamResponse(answer).results[0] as { allowed?: unknown };
    if (decision.allowed !== true) throw new Error(`honest stream client refused: ${JSON.stringify(decision)}`);
    return Math.round(performance.now() - t0);
  } finally {
    ws.terminate();
  }
}

type HalfOpen = RawUpgrade & { cutMs: () => number | null };

/**
 * Half-open upgrades to /v1/mesh from several loopback addresses: the
 * request, then nothing; each lane reopens its connection as soon as it is
 * cut or refused, until `stop()`. `firstWave` settles with the answers to
 * the first connection of every lane.
 */
function halfOpenFlood(address: string): { attempts: HalfOpen[]; firstWave: Promise<HalfOpen[]>; stop: () => Promise<void> } {
  const attempts: HalfOpen[] = [];
  let running = true;
  const open = async (localAddress: string): Promise<HalfOpen> => {
    const r = await rawUpgrade(address, { localAddress, timeoutMs: 10_000 });
    const answeredAt = performance.now();
    let cut: number | null = null;
    void r.closed.then(() => (cut = performance.now() - answeredAt));
    const attempt = { ...r, cutMs: () => cut };
    attempts.push(attempt);
    return attempt;
  };
  const lanes = Array.from({ length: HALF_OPEN_ADDRESSES * HALF_OPEN_PER_ADDRESS }, (_, i) => {
    const localAddress = `127.0.0.${10 + (i % HALF_OPEN_ADDRESSES)}`;
    const first = open(localAddress);
    const rest = (async () => {
      let last = await first.catch(() => null);
      while (running) {
        if (last !== null) await last.closed;
        if (running) last = await open(localAddress).catch(() => null);
      }
    })();
    return { first, rest };
  });
  return {
    attempts,
    firstWave: Promise.all(lanes.map((l) => l.first)),
    stop: async () => {
      running = false;
      await Promise.all(lanes.map((l) => l.rest));
    },
  };
}

/** Stream clients that upgrade and then send nothing, or half a frame: how long the daemon held each. */
async function silentStreams(address: string): Promise<Array<{ closed: Promise<void>; held: () => number | null }>> {
  return Promise.all(
    Array.from({ length: SILENT_STREAMS }, async (_, i) => {
      const r = await rawUpgrade(address, { path: '/v1/stream', timeoutMs: 10_000 });
      if (r.status !== 101) throw new Error(`silent stream client answered ${r.status}`);
      if (i % 2 === 1) r.socket.write(Buffer.concat([frameHeader(64 * 1024), Buffer.alloc(1_000, 1)])); // 1,000 bytes of a 64 KiB frame
      const openedAt = performance.now();
      let held: number | null = null;
      void r.closed.then(() => (held = performance.now() - openedAt));
      return { closed: r.closed, held: () => held };
    }),
  );
}

/**
 * Event clients that never read, one that does, and denials published until
 * every non-reader was cut (or the flood's bound). Returns what it saw.
 */
async function eventFlood(d: CliDaemon): Promise<{ floodRequests: number; clientsLeft: number; slowClientsDropped: number; readerKept: boolean; nonReadersEnded: boolean; maxBytesToNonReaderMiB: number }> {
  const request = `GET /v1/events HTTP/1.1\r\nHost: ${d.address}\r\nAccept: text/event-stream\r\n\r\n`;
  const nonReaders = await Promise.all(Array.from({ length: SSE_NON_READERS }, () => RawConn.connect(d.port, { read: false })));
  const reader = await RawConn.connect(d.port);
  for (const c of [...nonReaders, reader]) c.write(request);
  const eventClients = async (): Promise<number> => metricValue(await scrape(d.url), 'tallymesh_api_clients', { api: 'events' });
  await eventually(async () => (await eventClients()) === SSE_NON_READERS + 1, 5_000, 'event clients connected');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const body = { requests: Array.from({ length: FLOOD_BATCH }, () => ({ limiter: 'den', key: 'flood' })) };
  let floodRequests = 0;
  let clientsLeft = SSE_NON_READERS + 1;
  while (floodRequests < MAX_FLOOD_REQUESTS && clientsLeft > 1) {
    const r = await requestJson(`${d.url}/v1/consume`, { method: 'POST', body, agent, timeoutMs: 10_000 });
    if (r.status !== 200) throw new Error(`flood request answered ${r.status}`);
    if (++floodRequests % 20 === 0) clientsLeft = await eventClients();
  }
  agent.destroy();
  const slowClientsDropped = metricValue(await scrape(d.url), 'tallymesh_events_dropped_total', { reason: 'slow-client' });
  const readerKept = reader.open;
  reader.destroy();
  // The cut clients now read what the kernel still held for them, then must see the end of the stream.
  for (const c of nonReaders) c.resume();
  const ended = await Promise.all(nonReaders.map((c) => c.waitClosed(10_000)));
  for (const c of nonReaders) c.destroy();
  return {
    floodRequests,
    clientsLeft,
    slowClientsDropped,
    readerKept,
    nonReadersEnded: ended.every(Boolean),
    maxBytesToNonReaderMiB: +(Math.max(...nonReaders.map((c) => c.received)) / MiB).toFixed(2),
  };
}

/** How long each slow connection of a group was held, and what it was answered. */
function slowFigures(group: SlowGroup): { open: number; minHeldMs: number; maxHeldMs: number; answers: string[] } {
  const held = group.conns.map((c) => c.heldMs).filter((ms): ms is number => ms !== null);
  return {
    open: group.conns.length - held.length,
    minHeldMs: Math.round(Math.min(...held)),
    maxHeldMs: Math.round(Math.max(...held)),
    answers: [...new Set(group.conns.map((c) => c.statuses().join('+') || 'none'))],
  };
}

describe(`hostile clients against a daemon started through the CLI (seed ${SEED})`, () => {
  it('cuts slow, silent, oversized and garbage connections on time while honest clients are served', async () => {
    const a = await start('hostile-a');
    await eventually(async () => (await fetch(`${a.url}/readyz`)).status === 200, 10_000, 'daemon ready');
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();

    // Before the attack: the honest client alone.
    const sampler = new ProcessSampler(a.pid);
    const load = new HonestLoad({ url: a.url, limiter: 'api', key: 'honest', intervalMs: HONEST_INTERVAL_MS });
    load.start();
    await new Promise((resolve) => setTimeout(resolve, BASELINE_MS));
    const baselineSockets = socketCount(a.pid);

    // The attack, everything at once.
    load.phase('attack');
    sampler.phase('attack');
    loopDelay.reset();
    const attackStart = performance.now();
    const groups = await Promise.all(Object.entries(slowRequests(a.address)).map(([name, req]) => startSlowGroup(name, a.port, req, SLOW_PER_KIND, TRICKLE_MS)));
    const streamsHeld = await silentStreams(a.address);
    const flood = halfOpenFlood(a.address);
    await flood.firstWave;
    // While the pending-handshake cap is full: an honest stream client, and an honest peer starting to join.
    const streamMs = await honestStream(a.address);
    const peerStart = performance.now();
    const b = await start('hostile-b', ['--peers', a.address]);
    const peerJoined = eventually(
      async () => {
        const cluster = (await (await fetch(`${a.url}/v1/cluster`)).json()) as { peers: Array<{ nodeId: string; state: string }> };
        return cluster.peers.some((p) => p.nodeId === 'hostile-b' && p.state === 'live');
      },
      30_000,
      'honest peer live on the attacked node',
    ).then(
      () => Math.round(performance.now() - peerStart),
      (err: Error) => err,
    );
    // The flood is kept up until the honest peer joined (or gave up).
    const floodStopped = peerJoined.then(() => flood.stop());
    const rng = createPrng(SEED);
    const rawOutcomes = Promise.all([...oversizedCases(a.address), ...garbageCases(a.address, rng, HEADERS_BOUND_MS)].map((c) => runRawCase(a.port, c)));
    const events = await eventFlood(a);

    // Half-open upgrades are cut by the handshake timeout or evicted; then junk on an upgrade that is admitted.
    await floodStopped;
    const admitted = flood.attempts.filter((r) => r.status === 101);
    await Promise.all(admitted.map((r) => r.closed.then(() => undefined)).map((p) => within(HANDSHAKE_BOUND_MS + 5_000, 'half-open cut', p).catch(() => {})));
    const meshGarbage: RawOutcome = await runRawCase(a.port, meshGarbageCase(a.address, rng));
    const joined = await peerJoined;
    // Slow connections: cut by the headers timeout (the body by the request timeout).
    const boundOf = (name: string): number => (name === 'body' ? REQUEST_BOUND_MS : HEADERS_BOUND_MS);
    await Promise.all(groups.flatMap((g) => g.conns.map((c) => c.waitClosed(boundOf(g.name) + 5_000))));
    const outcomes = [...(await rawOutcomes), meshGarbage];
    await Promise.all(streamsHeld.map((c) => within(STREAM_DEAD_BOUND_MS + 5_000, 'silent stream cut', c.closed).catch(() => {})));
    const evicted = metricValue(await scrape(a.url), 'tallymesh_frames_rejected_total', { reason: 'handshake-evicted' });
    const attackMs = Math.round(performance.now() - attackStart);

    // After: a stream client is still served; everything the test opened is closed.
    load.phase('after');
    sampler.phase('after');
    const streamAfterMs = await honestStream(a.address).catch((err: Error) => err);
    for (const g of groups) g.stop();
    for (const r of flood.attempts) r.socket.destroy();
    await load.stop();
    loopDelay.disable();
    let socketsAfter = socketCount(a.pid);
    await eventually(() => (socketsAfter = socketCount(a.pid)) <= baselineSockets + 2, 10_000, 'sockets back').catch(() => {});
    const health = await requestJson(`${a.url}/healthz`).catch(() => null);
    sampler.stop();

    const slow = Object.fromEntries(groups.map((g) => [g.name, slowFigures(g)]));
    const cutMs = admitted.map((r) => r.cutMs() ?? Infinity);
    const figures = {
      honestMs: { baseline: load.figures('baseline'), attack: load.figures('attack'), failures: load.failures.length },
      testProcessLoopDelayMs: { p99: +(loopDelay.percentile(99) / 1e6).toFixed(1), max: +(loopDelay.max / 1e6).toFixed(1) },
      daemonRssMiB: { baseline: +(sampler.peaks('baseline').rssBytes / MiB).toFixed(1), attackPeak: +(sampler.peaks('attack').rssBytes / MiB).toFixed(1) },
      daemonSockets: { baseline: baselineSockets, attackPeak: sampler.peaks('attack').sockets, after: socketsAfter },
      slowloris: slow,
      halfOpen: { sent: flood.attempts.length, admitted: admitted.length, evicted, refused503: flood.attempts.filter((r) => r.status === 503).length, maxCutMs: Math.round(Math.max(...cutMs)) },
      silentStreamsHeldMs: streamsHeld.map(({ held }) => (held() === null ? 'open' : Math.round(held() as number))),
      honestStreamMs: { duringFullHandshakeCap: streamMs, after: streamAfterMs instanceof Error ? streamAfterMs.message : streamAfterMs },
      honestPeerJoinMs: joined instanceof Error ? joined.message : joined,
      events,
      raw: Object.fromEntries(outcomes.map((o) => [o.name, `${o.statuses.join('+') || 'no answer'}, closed after ${o.heldMs ?? '-'} ms`])),
      attackSeconds: attackMs / 1000,
    };
    summary('hostile-clients', figures);
    // Soft: a run reports every bound that broke, not only the first.

    // The honest clients: all served, p99 bounded, the peer joined.
    expect.soft(load.failures.slice(0, 5), 'honest requests that failed').toEqual([]);
    expect.soft(figures.honestMs.attack.requests).toBeGreaterThan((attackMs / HONEST_INTERVAL_MS) * 0.9);
    expect.soft(figures.honestMs.attack.p99, `honest p99 under attack (baseline p99 ${figures.honestMs.baseline.p99} ms)`).toBeLessThan(P99_BOUND_MS);
    expect.soft(streamMs, 'honest stream client while the handshake cap is full').toBeLessThan(2_000);
    expect.soft(typeof figures.honestStreamMs.after, `honest stream client after the attack: ${figures.honestStreamMs.after}`).toBe('number');
    expect.soft(typeof figures.honestPeerJoinMs, `honest peer: ${figures.honestPeerJoinMs}`).toBe('number');
    expect.soft(figures.honestPeerJoinMs, 'honest peer join under the sustained half-open flood').toBeLessThanOrEqual(PEER_JOIN_BOUND_MS);

    // Slowloris: every connection cut with a 408 by its timeout, not earlier, not (much) later.
    for (const g of groups) {
      const timeout = g.name === 'body' ? REQUEST_TIMEOUT_MS : HEADERS_TIMEOUT_MS;
      expect.soft(slow[g.name].open, `${g.name}: connections the daemon never cut`).toBe(0);
      expect.soft(slow[g.name].answers, `${g.name}: answers`).toEqual(['408']);
      expect.soft(slow[g.name].minHeldMs, `${g.name}: cut before its timeout`).toBeGreaterThanOrEqual(timeout - 500);
      expect.soft(slow[g.name].maxHeldMs, `${g.name}: held past its timeout`).toBeLessThanOrEqual(boundOf(g.name));
    }

    // Half-open upgrades: no more held at once than the cap (each admitted past it evicted one), the rest refused with 503, every admitted one cut in time.
    expect.soft(admitted.length).toBeGreaterThan(0);
    expect.soft(admitted.length - evicted, 'upgrades held past the pending-handshake cap').toBeLessThanOrEqual(DEFAULT_MAX_PENDING_HANDSHAKES);
    expect.soft(figures.halfOpen.refused503).toBe(flood.attempts.length - admitted.length);
    expect.soft(figures.halfOpen.maxCutMs, 'half-open upgrade held past the handshake timeout').toBeLessThanOrEqual(HANDSHAKE_BOUND_MS);

    // Stream clients that fell silent or stopped inside a frame: cut by the heartbeat.
    expect.soft(figures.silentStreamsHeldMs.filter((ms) => ms === 'open' || ms > STREAM_DEAD_BOUND_MS), `silent stream clients held past ${STREAM_DEAD_BOUND_MS} ms`).toEqual([]);

    // Event clients that never read: all cut once past the per-client bound; the reader kept.
    expect.soft(events.clientsLeft, 'event clients left after the flood (only the reader should be)').toBe(1);
    expect.soft(events.slowClientsDropped).toBe(SSE_NON_READERS);
    expect.soft(events.readerKept, 'the event client that reads was cut').toBe(true);
    expect.soft(events.nonReadersEnded, 'cut event clients saw the end of their stream').toBe(true);

    // Oversized headers and garbage: 431 or a close, no 5xx, every connection closed.
    expect.soft(outcomes.filter((o) => o.problems.length > 0).map((o) => `${o.name}: ${o.problems.join('; ')}`)).toEqual([]);

    // The processes: alive; the attacked one's memory bounded and its sockets back to the baseline.
    expect.soft(a.running && b.running, a.output().slice(-2_000)).toBe(true);
    expect.soft(health?.status).toBe(200);
    expect.soft(sampler.peaks('attack').rssBytes, 'daemon RSS during the attack').toBeLessThan(RSS_BOUND_BYTES);
    expect.soft(socketsAfter, `daemon sockets after the attack (baseline ${baselineSockets})`).toBeLessThanOrEqual(baselineSockets + 2);
  });
});
