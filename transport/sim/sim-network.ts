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
 * The wire model (FIFO per direction, cuts, loss, duplication, reordering)
 * lives in `sim-wire.ts`. A cut drops what is sent while it lasts but links
 * stay up, as TCP does under a partition: higher layers detect the silence.
 * A dial needs both directions open; it fails (and is retried with backoff)
 * when the target is absent, stopped, crashed or cut off.
 *
 * @module
 */
import type { Frame } from '../codec/frame.js';
import { LinkManager } from '../link-manager.js';
import type { DialAttempt } from '../link-manager.js';
import { resolveLinkOptions } from '../options.js';
import { createPrng } from './prng.js';
import type { Prng } from './prng.js';
import { createNodeClock, SimClock } from './sim-clock.js';
import type { NodeClock } from './sim-clock.js';
import { DEFAULT_SIM_FAULTS, SIM_ADDRESS_PREFIX, SimWire } from './sim-wire.js';
import type { SimCounters, SimEndpoint, SimFaults } from './sim-wire.js';
import type { Scheduler } from '../scheduler.js';
import type { PeerInfo, PeerStats, Transport, TransportHandlers } from '../transport.js';

export { SIM_ADDRESS_PREFIX } from './sim-wire.js';
export type { SimCounters, SimFaults } from './sim-wire.js';

/** Virtual time at which every simulation starts. */
export const SIM_EPOCH_MS = Date.UTC(2026, 0, 1);

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

class Network implements SimNetwork {
  readonly seed: number;
  #clock = new SimClock(SIM_EPOCH_MS);
  #prng: Prng;
  #wire: SimWire;
  #hosts = new Map<string, SimHost>();
  #offsets = new Map<string, number>();
  #starts = new Map<string, number>();

  constructor(options: SimNetworkOptions) {
    const { seed, ...faults } = options;
    this.seed = seed;
    this.#prng = createPrng(seed);
    this.#wire = new SimWire(this.#clock, this.#prng, { ...DEFAULT_SIM_FAULTS, ...definedOnly(faults) });
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
    const host: SimHost = {
      nodeId,
      state: 'created',
      clock,
      endpoints: new Set(),
      manager: new LinkManager({
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
      }),
    };
    this.#hosts.set(nodeId, host);
    return { transport: new SimTransport(host), scheduler: clock.scheduler };
  }

  setClockOffset(nodeId: string, ms: number): void {
    if (!Number.isFinite(ms)) throw new RangeError(`sim network: clock offset must be finite, got ${ms}`);
    this.#offsets.set(nodeId, ms);
  }

  cut(from: string, to: string): void {
    this.#wire.cut(from, to);
  }

  restore(from: string, to: string): void {
    this.#wire.restore(from, to);
  }

  partition(a: readonly string[], b: readonly string[]): void {
    for (const x of a) {
      for (const y of b) {
        this.#wire.cut(x, y);
        this.#wire.cut(y, x);
      }
    }
  }

  heal(): void {
    this.#wire.restoreAll();
  }

  isCut(from: string, to: string): boolean {
    return this.#wire.isCut(from, to);
  }

  setFaults(faults: Partial<SimFaults>): void {
    this.#wire.faults = { ...this.#wire.faults, ...definedOnly(faults) };
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
    return { ...this.#wire.counters(nodeId) };
  }

  #dial(host: SimHost, attempt: DialAttempt): void {
    // Connection setup takes one latency; the answer depends on the network at that moment.
    host.clock.scheduler.after(this.#wire.latency(), () => {
      if (host.state !== 'running') return;
      const address = attempt.address;
      const target = address.startsWith(SIM_ADDRESS_PREFIX) ? this.#hosts.get(address.slice(SIM_ADDRESS_PREFIX.length)) : undefined;
      if (target === undefined || target.state !== 'running') {
        attempt.failed(`${address} is not listening`, 'refused');
      } else if (this.#wire.isCut(host.nodeId, target.nodeId) || this.#wire.isCut(target.nodeId, host.nodeId)) {
        attempt.failed(`${address} is unreachable`, 'unreachable'); // a TCP handshake needs both directions
      } else {
        const [local, remote] = this.#wire.connect(host, target);
        // Accept first: the dialer's HELLO goes out as soon as its link starts.
        remote.link = target.manager.accept(remote);
        local.link = attempt.opened(local);
        if (remote.link === null) remote.close('refused');
        if (local.link === null) local.close('abandoned');
      }
    });
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

  roundTripMs(nodeId: string): number | undefined {
    return this.#host.manager.roundTripMs(nodeId);
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
