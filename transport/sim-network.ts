/**
 * A deterministic in-memory network for many nodes in one process: virtual
 * time, seeded latency, loss, duplication and reordering, one-way cuts,
 * partitions, clock offsets, crashes and restarts. Same seed, same calls:
 * the same run, bit for bit (yjs's TestConnector is the model).
 *
 * Each node gets a {@link Transport} built on the same {@link LinkManager}
 * as the WebSocket transport, so the handshake, duplicate resolution and
 * redial behaviour under test are the real ones; frames go through
 * encodeFrame/decodeFrame, so sizes and bounds are real too.
 *
 * Network model, per direction of each connection: FIFO unless a frame is
 * picked for reordering; a cut drops what is sent while it lasts (links stay
 * up, as TCP does under a partition: higher layers detect the silence);
 * loss, duplication and reordering apply only after the handshake. A dial
 * needs both directions open; it fails (and is retried with backoff) when
 * the target is absent, stopped, crashed or cut off.
 *
 * @module
 */
import { FrameType } from './frame.js';
import type { Frame, FrameTypeCode } from './frame.js';
import type { Conduit, Link } from './link.js';
import { LinkManager } from './link-manager.js';
import type { DialAttempt } from './link-manager.js';
import { resolveLinkOptions } from './options.js';
import { createPrng } from './prng.js';
import type { Prng } from './prng.js';
import { createNodeClock, SimClock } from './sim-clock.js';
import type { NodeClock } from './sim-clock.js';
import type { PeerInfo, PeerStats, Scheduler, Transport, TransportHandlers } from './transport.js';

/** Virtual time at which every simulation starts. */
export const SIM_EPOCH_MS = Date.UTC(2026, 0, 1);
/** Address prefix of simulated nodes: node `a` listens on `sim:a`. */
export const SIM_ADDRESS_PREFIX = 'sim:';

/** Fault settings; each applies to post-handshake frames. */
export interface SimFaults {
  /** Uniform one-way latency range in whole ms, inclusive. */
  latencyMs: [number, number];
  /** Probability a frame is lost. */
  loss: number;
  /** Probability a frame is delivered twice. */
  duplicate: number;
  /** Probability a frame is held back (extra latency, outside FIFO order) so later frames overtake it. */
  reorder: number;
}

/** Options of {@link createSimNetwork}. */
export interface SimNetworkOptions extends Partial<SimFaults> {
  seed: number;
}

/** Options of {@link SimNetwork.addNode}. */
export interface SimNodeOptions {
  /** Cluster secret ('' by default). */
  secret?: string;
  /** This node's clock runs this many ms ahead of virtual time (negative: behind). */
  clockOffsetMs?: number;
  /** Process incarnation; defaults to `<nodeId>#<n>` with n counting this id's starts. */
  incarnation?: string;
  maxFrameBytes?: number;
  backoff?: { initialMs?: number; maxMs?: number };
  handshakeTimeoutMs?: number;
}

/** A node as the simulation hands it out. */
export interface SimNode {
  transport: Transport;
  /** Virtual time plus the node's clock offset; timers on virtual time, cancelled by a crash. */
  scheduler: Scheduler;
}

/** Wire traffic of a node, handshake included, summed over its restarts. */
export interface SimCounters {
  bytesSent: number;
  bytesReceived: number;
  framesSent: number;
  framesReceived: number;
  /** Frames this node sent that a cut or loss swallowed. */
  framesLost: number;
}

/** The simulated network. See the module comment for the model. */
export interface SimNetwork {
  readonly seed: number;
  /** Add (or, after a crash or close, restart) a node. */
  addNode(nodeId: string, options?: SimNodeOptions): SimNode;
  setClockOffset(nodeId: string, ms: number): void;
  /** Drop frames from `from` to `to` (one way) until restored. */
  cut(from: string, to: string): void;
  restore(from: string, to: string): void;
  /** Cut both ways between every node of `a` and every node of `b`. */
  partition(a: readonly string[], b: readonly string[]): void;
  /** Restore every cut. */
  heal(): void;
  isCut(from: string, to: string): boolean;
  setFaults(faults: Partial<SimFaults>): void;
  /** Kill a node: its timers stop, its peers see its connections reset. No handler of its own runs again. */
  crash(nodeId: string): void;
  /** Run events for `ms` of virtual time. */
  advance(ms: number): void;
  /** Run until `predicate` holds or `maxMs` passed; returns whether it held. */
  runUntil(predicate: () => boolean, maxMs: number): boolean;
  /** Virtual time (no node offset). */
  now(): number;
  counters(nodeId: string): SimCounters;
}

type NodeState = 'created' | 'running' | 'stopped' | 'crashed';

interface SimHost {
  readonly nodeId: string;
  state: NodeState;
  readonly manager: LinkManager;
  readonly clock: NodeClock;
  readonly endpoints: Set<SimEndpoint>;
}

/** One end of a simulated connection. */
class SimEndpoint implements Conduit {
  readonly remote: string;
  peer: SimEndpoint | null = null;
  link: Link | null = null;
  open = true;
  /** Latest delivery time scheduled in this endpoint's outbound direction (FIFO clamp). */
  lastDeliveryAt = 0;
  #net: Network;
  readonly host: SimHost;

  constructor(net: Network, host: SimHost, remoteId: string) {
    this.#net = net;
    this.host = host;
    this.remote = SIM_ADDRESS_PREFIX + remoteId;
  }

  write(bytes: Uint8Array, type: FrameTypeCode): boolean {
    if (!this.open) return false;
    this.#net.transmit(this, bytes, type);
    return true;
  }

  close(reason: string): void {
    if (!this.open) return;
    this.open = false;
    this.host.endpoints.delete(this);
    this.#net.transmitClose(this, reason);
  }

  queuedBytes(): number {
    return 0; // the simulated wire has no backpressure
  }
}

const DEFAULT_FAULTS: SimFaults = { latencyMs: [1, 5], loss: 0, duplicate: 0, reorder: 0 };

function checkFaults(faults: SimFaults): void {
  const [lo, hi] = faults.latencyMs;
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi < lo) {
    throw new RangeError(`sim network: latencyMs must be whole ms [min, max] with 0 <= min <= max, got [${lo}, ${hi}]`);
  }
  for (const name of ['loss', 'duplicate', 'reorder'] as const) {
    const p = faults[name];
    if (!(p >= 0 && p <= 1)) throw new RangeError(`sim network: ${name} must be a probability in [0, 1], got ${p}`);
  }
}

class Network implements SimNetwork {
  readonly seed: number;
  #clock = new SimClock(SIM_EPOCH_MS);
  #prng: Prng;
  #faults: SimFaults;
  #hosts = new Map<string, SimHost>();
  #offsets = new Map<string, number>();
  #cuts = new Set<string>();
  #counters = new Map<string, SimCounters>();
  #starts = new Map<string, number>();

  constructor(options: SimNetworkOptions) {
    const { seed, ...faults } = options;
    this.seed = seed;
    this.#prng = createPrng(seed);
    this.#faults = { ...DEFAULT_FAULTS, ...definedOnly(faults) };
    checkFaults(this.#faults);
  }

  addNode(nodeId: string, options: SimNodeOptions = {}): SimNode {
    const previous = this.#hosts.get(nodeId);
    if (previous !== undefined && (previous.state === 'created' || previous.state === 'running')) {
      throw new Error(`sim network: node ${nodeId} is already up; crash or close it before adding it again`);
    }
    const starts = (this.#starts.get(nodeId) ?? 0) + 1;
    const identity = resolveLinkOptions({
      nodeId,
      incarnation: options.incarnation ?? `${nodeId}#${starts}`,
      secret: options.secret ?? '',
      maxFrameBytes: options.maxFrameBytes,
      backoff: options.backoff,
      handshakeTimeoutMs: options.handshakeTimeoutMs,
    });
    this.#starts.set(nodeId, starts);
    this.#offsets.set(nodeId, options.clockOffsetMs ?? this.#offsets.get(nodeId) ?? 0);
    const clock = createNodeClock(this.#clock, () => this.#offsets.get(nodeId) ?? 0);
    const rng = this.#prng.fork();
    let host: SimHost;
    const manager = new LinkManager({
      ...identity,
      address: () => (host.state === 'running' ? SIM_ADDRESS_PREFIX + nodeId : ''),
      scheduler: clock.scheduler,
      random: rng.next,
      // Nonces from the seeded stream: they break duplicate-link ties, so they must be reproducible.
      nonce: () => {
        const nonce = new Uint8Array(32);
        const view = new DataView(nonce.buffer);
        for (let i = 0; i < 32; i += 4) view.setUint32(i, rng.uint32());
        return nonce;
      },
      dial: (attempt) => this.#dial(host, attempt),
    });
    host = { nodeId, state: 'created', manager, clock, endpoints: new Set() };
    this.#hosts.set(nodeId, host);
    return { transport: new SimTransport(host), scheduler: clock.scheduler };
  }

  setClockOffset(nodeId: string, ms: number): void {
    if (!Number.isFinite(ms)) throw new RangeError(`sim network: clock offset must be finite, got ${ms}`);
    this.#offsets.set(nodeId, ms);
  }

  cut(from: string, to: string): void {
    this.#cuts.add(cutKey(from, to));
  }

  restore(from: string, to: string): void {
    this.#cuts.delete(cutKey(from, to));
  }

  partition(a: readonly string[], b: readonly string[]): void {
    for (const x of a) {
      for (const y of b) {
        this.cut(x, y);
        this.cut(y, x);
      }
    }
  }

  heal(): void {
    this.#cuts.clear();
  }

  isCut(from: string, to: string): boolean {
    return this.#cuts.has(cutKey(from, to));
  }

  setFaults(faults: Partial<SimFaults>): void {
    const next = { ...this.#faults, ...definedOnly(faults) };
    checkFaults(next);
    this.#faults = next;
  }

  crash(nodeId: string): void {
    const host = this.#hosts.get(nodeId);
    if (host === undefined || host.state === 'crashed') return;
    host.state = 'crashed';
    host.clock.halt();
    for (const endpoint of [...host.endpoints]) {
      // The OS resets the sockets of a dead process; the crashed side's own link never hears of it.
      endpoint.link = null;
      endpoint.close('connection reset');
    }
  }

  advance(ms: number): void {
    this.#clock.advance(ms);
  }

  runUntil(predicate: () => boolean, maxMs: number): boolean {
    return this.#clock.runUntil(predicate, maxMs);
  }

  now(): number {
    return this.#clock.now();
  }

  counters(nodeId: string): SimCounters {
    return { ...this.#countersOf(nodeId) };
  }

  // ---- wire ----

  transmit(from: SimEndpoint, bytes: Uint8Array, type: FrameTypeCode): void {
    const to = from.peer as SimEndpoint;
    const sent = this.#countersOf(from.host.nodeId);
    sent.framesSent++;
    sent.bytesSent += bytes.length;
    const handshake = type === FrameType.HELLO || type === FrameType.AUTH;
    const faults = this.#faults;
    // Both draws happen for every frame, handshake or not, so the stream does not depend on frame types.
    const lost = this.#prng.next() < faults.loss && !handshake;
    const copies = this.#prng.next() < faults.duplicate && !handshake ? 2 : 1;
    if (this.isCut(from.host.nodeId, to.host.nodeId) || lost) {
      sent.framesLost++;
      return;
    }
    for (let i = 0; i < copies; i++) {
      const held = this.#prng.next() < faults.reorder && !handshake;
      this.#schedule(from, held, () => {
        if (!to.open || to.link === null) return;
        const received = this.#countersOf(to.host.nodeId);
        received.framesReceived++;
        received.bytesReceived += bytes.length;
        to.link.receive(bytes);
      });
    }
  }

  transmitClose(from: SimEndpoint, reason: string): void {
    const to = from.peer;
    if (to === null || this.isCut(from.host.nodeId, to.host.nodeId)) return; // the FIN is lost: a half-open link
    this.#schedule(from, false, () => {
      if (!to.open) return;
      to.open = false;
      to.host.endpoints.delete(to);
      to.link?.remoteClosed(reason);
    });
  }

  #schedule(from: SimEndpoint, held: boolean, deliver: () => void): void {
    const now = this.#clock.now();
    let at = now + this.#latency();
    if (held) {
      at += this.#latency() + 1; // late, and outside the FIFO clamp: later frames may overtake it
    } else {
      at = Math.max(at, from.lastDeliveryAt); // equal times keep send order (the clock ties by sequence)
      from.lastDeliveryAt = at;
    }
    this.#clock.schedule(at - now, deliver);
  }

  #latency(): number {
    const [lo, hi] = this.#faults.latencyMs;
    return lo + this.#prng.int(hi - lo + 1);
  }

  #dial(host: SimHost, attempt: DialAttempt): void {
    // Connection setup takes one latency; the answer depends on the network at that moment.
    host.clock.scheduler.after(this.#latency(), () => {
      if (host.state !== 'running') return;
      const targetId = attempt.address.startsWith(SIM_ADDRESS_PREFIX) ? attempt.address.slice(SIM_ADDRESS_PREFIX.length) : null;
      const target = targetId === null ? undefined : this.#hosts.get(targetId);
      if (target === undefined || target.state !== 'running') {
        attempt.failed(`${attempt.address} is not listening`);
        return;
      }
      if (this.isCut(host.nodeId, target.nodeId) || this.isCut(target.nodeId, host.nodeId)) {
        attempt.failed(`${attempt.address} is unreachable`);
        return;
      }
      const local = new SimEndpoint(this, host, target.nodeId);
      const remote = new SimEndpoint(this, target, host.nodeId);
      local.peer = remote;
      remote.peer = local;
      host.endpoints.add(local);
      target.endpoints.add(remote);
      // Accept first: the dialer's HELLO goes out as soon as its link starts.
      remote.link = target.manager.accept(remote);
      local.link = attempt.opened(local);
      if (remote.link === null) remote.close('refused');
      if (local.link === null) local.close('abandoned');
    });
  }

  #countersOf(nodeId: string): SimCounters {
    let counters = this.#counters.get(nodeId);
    if (counters === undefined) {
      counters = { bytesSent: 0, bytesReceived: 0, framesSent: 0, framesReceived: 0, framesLost: 0 };
      this.#counters.set(nodeId, counters);
    }
    return counters;
  }
}

/** The Transport of one simulated node. */
class SimTransport implements Transport {
  readonly nodeId: string;
  #host: SimHost;

  constructor(host: SimHost) {
    this.#host = host;
    this.nodeId = host.nodeId;
  }

  async start(handlers: TransportHandlers): Promise<void> {
    if (this.#host.state !== 'created') throw new Error(`sim transport ${this.nodeId}: start() after ${this.#host.state}`);
    this.#host.state = 'running';
    this.#host.manager.start(handlers);
  }

  address(): string {
    return this.#host.manager.address();
  }

  connect(address: string): void {
    if (this.#alive()) this.#host.manager.connect(address);
  }

  forget(address: string): void {
    this.#host.manager.forget(address);
  }

  send(nodeId: string, frame: Frame): boolean {
    return this.#alive() && this.#host.manager.send(nodeId, frame);
  }

  disconnect(nodeId: string, reason: string): void {
    if (this.#alive()) this.#host.manager.disconnect(nodeId, reason);
  }

  peers(): PeerInfo[] {
    return this.#alive() ? this.#host.manager.peers() : [];
  }

  stats(nodeId: string): PeerStats {
    return this.#host.manager.stats(nodeId);
  }

  async close(): Promise<void> {
    if (!this.#alive()) return;
    this.#host.state = 'stopped';
    this.#host.manager.close('shutdown');
  }

  /** A crashed node is a corpse: nothing it is asked to do happens. */
  #alive(): boolean {
    return this.#host.state === 'created' || this.#host.state === 'running';
  }
}

function cutKey(from: string, to: string): string {
  return `${from}\u0000${to}`;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Create a simulated network. Nothing happens until virtual time is advanced.
 *
 * @example
 * ```ts
 * const net = createSimNetwork({ seed: 7, latencyMs: [1, 5], loss: 0.01 });
 * const a = net.addNode('a', { secret: 's' });
 * const b = net.addNode('b', { secret: 's' });
 * await a.transport.start(handlersA);
 * await b.transport.start(handlersB);
 * a.transport.connect('sim:b');
 * net.runUntil(() => a.transport.peers().length === 1, 1_000);
 * net.partition(['a'], ['b']);
 * net.advance(5_000);
 * net.heal();
 * ```
 */
export function createSimNetwork(options: SimNetworkOptions): SimNetwork {
  return new Network(options);
}
