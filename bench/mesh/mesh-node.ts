/**
 * One node of the mesh scenario, in its own process: a real `createMesh` on a
 * loopback port, driven by the parent over IPC (protocol in mesh-ipc.ts).
 * Load is generated here, locally, so no decision waits on IPC; the parent
 * only starts, stops, asks and collects.
 *
 * The process exits when the parent disconnects, so an aborted run leaves no
 * node behind.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Packr } from 'msgpackr';
import { createMesh, type Limiter, type Mesh } from '../../src/index.js';
import {
  machineNowMs,
  type AdmitLogResult,
  type NodeCommand,
  type NodeEvent,
  type NodeReply,
  type NodeRequest,
  type StartResult,
  type TrafficResult,
} from './mesh-ipc.js';

/** Poll period of watched probe keys. */
const WATCH_POLL_MS = 1;
/** A load tick never issues more than this many seconds' worth of backlog (after a stall). */
const MAX_BACKLOG_S = 0.25;
/** Pause between slices of a paced `touch`. */
const TOUCH_SLICE_MS = 10;

// The wire layout of a window batch (see docs/protocol.md), without the record extension.
const packr = new Packr({ useRecords: false });

let mesh: Mesh | null = null;
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

function requireMesh(): Mesh {
  if (mesh === null) throw new Error('node not started');
  return mesh;
}

function limiterOf(name: string): Limiter {
  const l = requireMesh().get(name);
  if (l === undefined) throw new Error(`no limiter "${name}"`);
  return l;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

// --- paced load -------------------------------------------------------------

/**
 * Issues decisions at a fixed rate in small batches every `tickMs`, catching
 * up on what a late timer owed (bounded), so the offered rate holds on a busy
 * machine. `onDecision` sees each decision's outcome.
 */
class PacedLoad {
  #timer: NodeJS.Timeout | null = null;
  #issued = 0;
  #dropped = 0;
  #t0 = 0;
  #perSec: number;
  #tickMs: number;
  #decide: (i: number) => void;

  constructor(perSec: number, tickMs: number, decide: (i: number) => void) {
    this.#perSec = perSec;
    this.#tickMs = tickMs;
    this.#decide = decide;
  }

  get issued(): number {
    return this.#issued;
  }

  start(): void {
    this.#t0 = machineNowMs();
    this.#timer = setInterval(() => this.#tick(), this.#tickMs);
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #tick(): void {
    const due = Math.floor(((machineNowMs() - this.#t0) * this.#perSec) / 1000) - this.#dropped;
    let n = due - this.#issued;
    const cap = Math.ceil(this.#perSec * MAX_BACKLOG_S);
    if (n > cap) {
      this.#dropped += n - cap;
      n = cap;
    }
    for (let i = 0; i < n; i++) this.#decide(this.#issued++);
  }
}

let load: PacedLoad | null = null;

// --- probes -----------------------------------------------------------------

const watched = new Map<string, Limiter>();
let watchTimer: NodeJS.Timeout | null = null;

function pollWatched(): void {
  for (const [key, limiter] of watched) {
    if (limiter.count(key) >= 1) {
      const t = machineNowMs();
      watched.delete(key);
      const event: NodeEvent = { event: 'seen', key, t };
      process.send?.(event);
    }
  }
  if (watched.size === 0 && watchTimer !== null) {
    clearInterval(watchTimer);
    watchTimer = null;
  }
}

function watch(limiterName: string, key: string): void {
  watched.set(key, limiterOf(limiterName));
  pollWatched();
  if (watched.size > 0 && watchTimer === null) watchTimer = setInterval(pollWatched, WATCH_POLL_MS);
}

// --- commands ---------------------------------------------------------------

async function start(cmd: Extract<NodeCommand, { op: 'start' }>): Promise<StartResult> {
  if (mesh !== null) throw new Error('node already started');
  const t0 = machineNowMs();
  const m = await createMesh({
    nodeId: cmd.nodeId,
    host: '127.0.0.1',
    port: 0,
    peers: cmd.peers,
    secret: cmd.secret,
    gossipIntervalMs: cmd.gossipIntervalMs,
    digestIntervalMs: cmd.digestIntervalMs,
    suspectAfterMs: cmd.suspectAfterMs,
    joinTimeoutMs: cmd.joinTimeoutMs,
  });
  // Registered in the same turn createMesh resolves in: no peer frame can
  // have been handled yet, so no snapshot chunk meets an unknown limiter.
  for (const options of cmd.limiters) m.limiter(options);
  if (process.env.TALLYMESH_BENCH_DEBUG) {
    // Peer state changes with ms since createMesh, for diagnosing a slow join or a flapping link.
    m.on('peer', (e: { nodeId: string; state: string; reason: string }) => {
      process.stderr.write(`    [${cmd.nodeId} +${Math.round(machineNowMs() - t0)} ms] ${e.nodeId} ${e.state} (${e.reason})\n`);
    });
  }
  mesh = m;
  if (!cmd.measureReady) return { address: m.address() };
  await m.whenReady();
  const readyMs = machineNowMs() - t0;
  // Read in the continuation of whenReady(): nothing merged in between.
  const keysAtReady: Record<string, number> = {};
  for (const l of m.limiters) keysAtReady[l.name] = l.size;
  return { address: m.address(), readyMs, keysAtReady };
}

async function waitLive(peers: number, timeoutMs: number): Promise<number> {
  const m = requireMesh();
  const live = (): number => m.cluster().peers.filter((p) => p.state === 'live').length;
  const deadline = machineNowMs() + timeoutMs;
  while (!(m.ready && live() >= peers)) {
    if (machineNowMs() > deadline) {
      const states = m.cluster().peers.map((p) => `${p.nodeId}:${p.state}`);
      throw new Error(`${m.nodeId}: ready=${m.ready}, live peers ${live()}/${peers} after ${timeoutMs} ms [${states.join(' ')}]`);
    }
    await sleep(10);
  }
  return live();
}

function startLoad(cmd: Extract<NodeCommand, { op: 'load' }>): void {
  load?.stop();
  const limiter = limiterOf(cmd.limiter);
  const keys = Array.from({ length: cmd.keys }, (_, i) => `${cmd.prefix}${i}`);
  // Each node starts at its own offset so the nodes do not hit keys in lockstep.
  const offset = Math.floor(Math.random() * keys.length);
  load = new PacedLoad(cmd.perSec, cmd.tickMs, (i) => {
    limiter.consume(keys[(i + offset) % keys.length], 1);
  });
  load.start();
}

async function touch(cmd: Extract<NodeCommand, { op: 'touch' }>): Promise<number> {
  const limiter = limiterOf(cmd.limiter);
  let admitted = 0;
  let next = cmd.from;
  const t0 = machineNowMs();
  while (next < cmd.to) {
    // Slices in timer turns, like real traffic: the node keeps gossiping and answering pings meanwhile.
    const due = Math.min(cmd.to, cmd.from + Math.ceil(((machineNowMs() - t0) * cmd.perSec) / 1000) + 1);
    for (; next < due; next++) if (limiter.consume(`${cmd.prefix}${next}`, 1).allowed) admitted++;
    await sleep(TOUCH_SLICE_MS);
  }
  if (admitted !== cmd.to - cmd.from) throw new Error(`${cmd.to - cmd.from - admitted} touches denied`);
  return admitted;
}

function fire(limiterName: string, key: string): number {
  const d = limiterOf(limiterName).consume(key, 1);
  const t = machineNowMs();
  if (!d.allowed) throw new Error(`probe ${key} was denied`);
  return t;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function traffic(): TrafficResult {
  const c = requireMesh().cluster();
  const r: TrafficResult = {
    t: machineNowMs(),
    cpuMs: cpuMs(),
    loopDelayMaxMs: loopDelay.max / 1e6,
    bytesOut: 0,
    bytesIn: 0,
    framesOut: 0,
    livePeers: 0,
    peerStates: c.peers.map((p) => `${p.nodeId}:${p.state}`),
    // Both kinds of shard push, as this figure always counted (the cluster's own `repairsAnswered` sum is deprecated).
    repairsAnswered: c.replication.repairRequestsAnswered + c.replication.repairPushesStarted,
    snapshotChunks: c.replication.snapshotChunks,
    deltaFrames: c.replication.deltaFrames,
    digestsSent: c.replication.digestsSent,
    logOverflows: c.replication.logOverflows,
  };
  loopDelay.reset();
  for (const p of c.peers) {
    r.bytesOut += p.bytesOut;
    r.bytesIn += p.bytesIn;
    r.framesOut += p.framesOut;
    if (p.state === 'live') r.livePeers++;
  }
  return r;
}

function snapshotBytes(limiterName: string): number {
  const l = limiterOf(limiterName);
  const { state } = l.replica.snapshot();
  // Same array layout as a batch inside a SNAPSHOT or DELTA frame.
  return packr.pack([l.name, l.windowMs, l.buckets, null, state.replicas, state.keys]).length;
}

async function admitLog(cmd: Extract<NodeCommand, { op: 'admitLog' }>): Promise<AdmitLogResult> {
  const limiter = limiterOf(cmd.limiter);
  let admitted = new Float64Array(1 << 14);
  let n = 0;
  await sleep(cmd.startAt - machineNowMs());
  while (machineNowMs() < cmd.startAt) await sleep(0);
  const paced = new PacedLoad(cmd.perSec, cmd.tickMs, () => {
    if (!limiter.consume(cmd.key, 1).allowed) return;
    if (n === admitted.length) {
      const grown = new Float64Array(admitted.length * 2);
      grown.set(admitted);
      admitted = grown;
    }
    admitted[n++] = machineNowMs();
  });
  paced.start();
  await sleep(cmd.startAt + cmd.durationMs - machineNowMs());
  paced.stop();
  return { offered: paced.issued, admitted: admitted.slice(0, n) };
}

async function close(): Promise<void> {
  load?.stop();
  if (watchTimer !== null) clearInterval(watchTimer);
  await mesh?.close();
}

async function handle(cmd: NodeCommand): Promise<unknown> {
  switch (cmd.op) {
    case 'start':
      return start(cmd);
    case 'waitLive':
      return waitLive(cmd.peers, cmd.timeoutMs);
    case 'load':
      return startLoad(cmd);
    case 'stopLoad':
      load?.stop();
      return load?.issued ?? 0;
    case 'touch':
      return touch(cmd);
    case 'size':
      return limiterOf(cmd.limiter).size;
    case 'watch':
      return watch(cmd.limiter, cmd.key);
    case 'fire':
      return fire(cmd.limiter, cmd.key);
    case 'traffic':
      return traffic();
    case 'snapshotBytes':
      return snapshotBytes(cmd.limiter);
    case 'admitLog':
      return admitLog(cmd);
    case 'close':
      return close();
  }
}

function reply(r: NodeReply, then?: () => void): void {
  if (process.connected) process.send?.(r, undefined, {}, then);
  else then?.();
}

if (!process.send) {
  console.error('mesh-node must be started by the mesh scenario with child_process.fork');
  process.exit(2);
}
// The parent is gone (finished, crashed or killed): nothing left to serve.
process.on('disconnect', () => process.exit(0));
process.on('message', (msg: NodeRequest) => {
  handle(msg).then(
    (result) => reply({ id: msg.id, ok: true, result: result ?? null }, msg.op === 'close' ? () => process.exit(0) : undefined),
    (err: unknown) => reply({ id: msg.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});
