/**
 * A mesh node: limiters that replicate to peers. Wires the limiters, the
 * hybrid logical clock, the replicator and a transport (WebSocket by
 * default, or a simulated one), and tracks readiness.
 *
 * The folder `src/mesh/` is replication: this node, its options, its
 * replicator and the replicator's parts (listed in `replicator.ts`). It may
 * import `crdt/`, `transport/`, `src/limiter/`, `src/errors.ts` and
 * `src/validate.ts`; never `src/daemon/`, `src/http/`, `src/sim/`, `cli/` or
 * `bench/`.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { Hlc } from '../../crdt/hlc.js';
import type { Scheduler } from '../../transport/scheduler.js';
import type { PeerStats, Transport } from '../../transport/transport.js';
import { codes } from '../errors.js';
import { Limiter, type LimiterOptions, type PartitionPolicy, type PartitionShare } from '../limiter/limiter.js';
import { resolveMeshOptions, type MeshOptions, type ResolvedMeshOptions } from './mesh-options.js';
import { newIncarnation, replicaIdOf } from '../limiter/replica-id.js';
import { AccuracyWatch, type SloEvent } from './accuracy/accuracy-watch.js';
import { PartitionGuard, type ShareEvent } from './accuracy/partition-guard.js';
import { Readiness } from './readiness.js';
import { Replicator, type ReplicatorEvent, type ReplicationStats } from './replicator.js';
import type { RelayMode } from './relay-routes.js';
import { SeedStatus, type SeedReport } from './seed-status.js';
import { tickLagEstimates, type LagDelaysHost } from './accuracy/lag-delays.js';

export type { MeshOptions, ShareEvent, SloEvent };

/** One peer as `cluster()` reports it: its replication state plus the transport's traffic counters. */
export interface PeerStatus extends PeerStats {
  nodeId: string;
  address: string;
  state: 'syncing' | 'live' | 'suspect' | 'skewed' | 'down';
  /** Why the state last changed. */
  reason: string;
  reachable: boolean;
  clockOffsetMs: number;
  replicationLagMs: number;
  /** Smoothed round trip measured by the transport's probes (null: not linked or not measured yet). */
  roundTripMs: number | null;
  lastHeardMs: number | null;
  rejected: Record<string, number>;
}

/** The node's view of the cluster (what `/v1/cluster` serves). */
export interface ClusterStatus {
  node: {
    nodeId: string;
    incarnation: string;
    address: string;
    ready: boolean;
    hlc: number;
    uptimeMs: number;
    /** Set when this node's own clock runs so far ahead that peers refuse its frames. */
    clockProblem: string | null;
  };
  peers: PeerStatus[];
  /** The seed peers (`peers` option) and what their dials did. */
  seeds: SeedReport[];
  limiters: Array<{
    name: string;
    limit: number;
    windowMs: number;
    buckets: number;
    keys: number;
    allowed: number;
    denied: number;
    overflows: number;
    /** The partition policy, and the share in force (null: none). */
    partition: PartitionPolicy;
    share: PartitionShare | null;
    /** Estimated over-admission: the largest window count of any key read in the last window ÷ the limit (docs/accuracy.md). */
    admittedRatio: number;
    /** Whether hot keys are decided lag-aware, and how many keys are hot now (docs/accuracy.md, Lag-aware admission). */
    lagAware: boolean;
    hotKeys: number;
  }>;
  replication: ReplicationStats;
}

/** Keys waiting to be replicated at which a limiter ships them without waiting for the tick. */
const EARLY_FLUSH_KEYS = 4096;

/**
 * A node of the mesh. Emits `'peer'`, `'skew'`, `'reject'`, `'unsent'` (each
 * a {@link ReplicatorEvent}), `'share'` (a {@link ShareEvent}: a
 * `partition: 'share'` limiter went onto or off its share), `'slo'` (a
 * {@link SloEvent}: a limiter's estimated admitted ratio passed its
 * `sloRatio`, or came back under), `'ready'` and
 * `'overflow'` (a limiter).
 */
export class Mesh extends EventEmitter {
  readonly nodeId: string;
  readonly incarnation: string;
  readonly replicaId: string;
  readonly hlc: Hlc;
  #opts: ResolvedMeshOptions;
  #limiters = new Map<string, Limiter>();
  #replicator: Replicator;
  #transport: Transport;
  #scheduler: Scheduler;
  #startedAt: number;
  #readiness: Readiness;
  #seeds: SeedStatus;
  #closeHooks: Array<() => Promise<void>> = [];
  #closed = false;
  #flushQueued = false;
  /** Watches contact for `partition: 'share'` limiters; started with the first one. */
  #guard: PartitionGuard | null = null;
  #stopGuard: () => void = () => {};
  #accuracy: AccuracyWatch;
  #stopAccuracy: () => void = () => {};

  /** @internal Use {@link createMesh}. */
  constructor(opts: ResolvedMeshOptions, transport: Transport, scheduler: Scheduler, incarnation: string) {
    super();
    this.#opts = opts;
    this.nodeId = opts.nodeId;
    this.incarnation = incarnation;
    this.replicaId = replicaIdOf(opts.nodeId, incarnation);
    this.hlc = new Hlc({ maxOffsetMs: opts.maxClockOffsetMs });
    this.#transport = transport;
    this.#scheduler = scheduler;
    this.#startedAt = scheduler.now();
    this.#seeds = new SeedStatus(opts.peers, opts.nodeId, () => scheduler.now());
    this.#replicator = new Replicator({
      nodeId: opts.nodeId,
      hlc: this.hlc,
      transport,
      scheduler,
      limiters: this.#limiters,
      options: opts,
      emit: (event) => this.#onEvent(event),
    });
    this.#readiness = new Readiness({
      scheduler,
      peers: () => this.#replicator.peers.values(),
      seeds: opts.peers.length,
      joinTimeoutMs: opts.joinTimeoutMs,
      startedAt: this.#startedAt,
      onReady: () => this.emit('ready'),
    });
    this.#accuracy = new AccuracyWatch(
      () => scheduler.now(),
      (event) => this.emit('slo', event),
    );
  }

  /** @internal */
  async start(): Promise<void> {
    await this.#replicator.start(this.#opts.peers);
    this.#readiness.start();
    const stopWalk = this.#scheduler.every(this.#opts.digestIntervalMs, () => this.#accuracy.walk(this.#limiters.values()));
    const lagHost: LagDelaysHost = {
      nodeId: this.nodeId,
      gossipIntervalMs: this.#opts.gossipIntervalMs,
      peers: () => this.#replicator.peers.values(),
      roundTripMs: (nodeId) => this.#transport.roundTripMs?.(nodeId),
      limiters: () => this.#limiters.values(),
    };
    const stopLag = this.#scheduler.every(this.#opts.gossipIntervalMs, () => tickLagEstimates(lagHost));
    this.#stopAccuracy = () => {
      stopWalk();
      stopLag();
    };
  }

  /**
   * @internal How this node relays other replicas' cells: `targeted` (the
   * default), `all` or `off`; tests compare the gossip of each (see
   * `relay-routes.ts`).
   */
  setRelayMode(mode: RelayMode): void {
    this.#replicator.relayMode = mode;
  }

  /** @internal Runs `hook` on close (used to stop the HTTP server the mesh opened). */
  onClose(hook: () => Promise<void>): void {
    this.#closeHooks.push(hook);
  }

  /**
   * Registers (or returns the existing) replicated limiter `name`. Every node
   * sharing a limiter must give it the same `windowMs` and `buckets`.
   * @example const api = mesh.limiter({ name: 'api', limit: 100, windowMs: 60_000 });
   */
  limiter(options: LimiterOptions): Limiter {
    if (this.#closed) throw new codes.TALLYMESH_ERR_MESH_CLOSED();
    const limiter = new Limiter(options, {
      hlc: this.hlc,
      now: () => this.#scheduler.now(),
      replicaId: this.replicaId,
      maxClockOffsetMs: this.#opts.maxClockOffsetMs,
      onOverflow: (l) => this.emit('overflow', l),
      nodeFull: () => this.#keyCount() >= this.#opts.maxKeys,
      flushAt: EARLY_FLUSH_KEYS,
      onFlushDue: () => this.#queueFlush(),
      lagEstimate: { prefill: this.#opts.prefill, smoothing: this.#opts.rateSmoothing },
    });
    const existing = this.#limiters.get(limiter.name);
    if (existing !== undefined) {
      if (existing.windowMs !== limiter.windowMs || existing.buckets !== limiter.buckets) {
        throw new codes.TALLYMESH_ERR_LIMITER_EXISTS(limiter.name, `windowMs ${existing.windowMs}, buckets ${existing.buckets}`);
      }
      return existing;
    }
    this.#limiters.set(limiter.name, limiter);
    if (limiter.partition === 'share') this.#watchPartitions();
    return limiter;
  }

  /**
   * Unregisters the limiter `name` (a daemon's reload removed it): it is no
   * longer replicated, and peers' state for it is refused as for an unknown
   * limiter. Returns false when there was none.
   */
  removeLimiter(name: string): boolean {
    return this.#limiters.delete(name);
  }

  /** The limiter named `name`, if registered. */
  get(name: string): Limiter | undefined {
    return this.#limiters.get(name);
  }

  /** Every registered limiter. */
  get limiters(): Limiter[] {
    return [...this.#limiters.values()];
  }

  /** True once the node has synced with the peers it can reach (or waited out the join timeout alone). */
  get ready(): boolean {
    return this.#readiness.ready;
  }

  /** Resolves when {@link Mesh.ready} turns true. */
  whenReady(): Promise<void> {
    return this.#readiness.whenReady();
  }

  /** The `host:port` this node accepts peers (and, in a daemon, API clients) on. */
  address(): string {
    return this.#transport.address();
  }

  /**
   * Keeps a link to `address` from now on: dialed now, redialed after every
   * loss until {@link Mesh.forget}. How a discovery source (the daemon's DNS
   * lookups) adds peers after the start; our own address is ignored.
   */
  dial(address: string): void {
    this.#replicator.dial(address);
  }

  /** Stops redialing `address`; an open link to it stays until it drops. */
  forget(address: string): void {
    this.#replicator.forget(address);
  }

  /** Ships pending changes to peers now instead of at the next gossip tick (runs a tick now). */
  flush(): void {
    this.#replicator.tick();
  }

  /** This node's view of the cluster. */
  cluster(): ClusterStatus {
    const now = this.#scheduler.now();
    const peers: PeerStatus[] = [];
    for (const p of this.#replicator.peers.values()) {
      const s = this.#transport.stats(p.nodeId);
      peers.push({
        nodeId: p.nodeId,
        address: p.address,
        state: p.state,
        reason: p.reason,
        reachable: p.state === 'live' || p.state === 'syncing',
        clockOffsetMs: p.clockOffsetMs,
        replicationLagMs: Math.round(p.replicationLagMs * 10) / 10,
        roundTripMs: p.roundTripMs === null ? null : Math.round(p.roundTripMs * 10) / 10,
        lastHeardMs: p.lastHeardAt === 0 ? null : now - p.lastHeardAt,
        ...s,
        rejected: { ...p.rejected },
      });
    }
    return {
      node: {
        nodeId: this.nodeId,
        incarnation: this.incarnation,
        address: this.address(),
        ready: this.#readiness.ready,
        hlc: this.hlc.last,
        uptimeMs: now - this.#startedAt,
        clockProblem: this.clockProblem(),
      },
      peers,
      seeds: this.#seeds.report(this.address(), (nodeId) => this.#replicator.peers.get(nodeId)?.linked === true),
      limiters: this.limiters.map((l) => ({
        name: l.name,
        limit: l.limit,
        windowMs: l.windowMs,
        buckets: l.buckets,
        keys: l.size,
        ...l.stats,
        partition: l.partition,
        share: l.share,
        admittedRatio: this.#accuracy.ratio(l),
        lagAware: l.lagAware,
        hotKeys: l.replica.hotKeys,
      })),
      replication: this.#replicator.stats,
    };
  }

  /**
   * Non-null when at least half of the peers heard from show clocks more than
   * `maxClockOffsetMs` behind ours: then it is our clock that runs ahead, and
   * they refuse our frames (our hits do not replicate).
   */
  clockProblem(): string | null {
    const heard = [...this.#replicator.peers.values()].filter((p) => p.lastHeardAt > 0);
    const behind = heard.filter((p) => -p.clockOffsetMs > this.#opts.maxClockOffsetMs);
    if (heard.length === 0 || behind.length * 2 < heard.length) return null;
    const worst = Math.max(...behind.map((p) => -p.clockOffsetMs));
    return `this node's clock runs up to ${worst} ms ahead of ${behind.map((p) => p.nodeId).sort().join(', ')} (max offset ${this.#opts.maxClockOffsetMs} ms): peers refuse its frames`;
  }

  /**
   * Leaves the cluster: ships the last deltas (hits consumed after this
   * call stay local: stop consuming first), says goodbye, and drains every link (queued frames, then the BYE, then the
   * close frame) for at most `closeTimeoutMs`; a link still busy then is cut
   * and what it held is counted (`replication.framesUnsent`) and reported as
   * an `'unsent'` event per peer. Then closes the server if the mesh opened
   * it. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#readiness.close();
    this.#stopGuard();
    this.#stopAccuracy();
    // The final tick and the BYE are queued behind whatever waits for each
    // peer; the transport's close sends them in that order (issue 10, defect 9).
    this.#replicator.goodbye('shutdown');
    await this.#replicator.close();
    for (const hook of this.#closeHooks) await hook();
  }

  /**
   * Starts the contact watch (once): a look every gossip interval. Not on
   * each peer event: a link replaced by a preferred one is reported down and
   * up again within one call, and must not look like lost contact.
   */
  #watchPartitions(): void {
    if (this.#guard !== null) return;
    const guard = new PartitionGuard({
      now: () => this.#scheduler.now(),
      peers: () => this.#replicator.peers.values(),
      limiters: () => this.#limiters.values(),
      forgetAfterMs: this.#opts.forgetAfterMs,
      healAfterMs: this.#opts.suspectAfterMs,
      emit: (event) => this.emit('share', event),
    });
    this.#guard = guard;
    this.#stopGuard = this.#scheduler.every(this.#opts.gossipIntervalMs, () => guard.check());
    guard.check();
  }

  #keyCount(): number {
    let n = 0;
    for (const l of this.#limiters.values()) n += l.size;
    return n;
  }

  #queueFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    this.#scheduler.after(0, () => {
      this.#flushQueued = false;
      this.#replicator.tick();
    });
  }

  #onEvent(event: ReplicatorEvent): void {
    if (event.type === 'dial') this.#seeds.record(event.address, event.result);
    this.emit(event.type, event);
    if (event.type === 'synced' || event.type === 'peer') this.#readiness.check();
  }
}

/**
 * Starts a mesh node: listens for peers on `host:port` (path `/v1/mesh`),
 * dials `peers`, and replicates the limiters created with `mesh.limiter()`.
 * Without `secret` the node runs on a random secret of its own: a lone node
 * nobody can join (given `peers` as well, it throws). Its port refuses
 * browsers: an upgrade carrying `Origin` or `Sec-Fetch-Site` (403), and on a
 * loopback bind a `Host` other than loopback, `host` or `advertise` (421).
 *
 * @example
 * import { createMesh } from 'tallymesh';
 * const mesh = await createMesh({ nodeId: 'a', port: 7071, peers: ['127.0.0.1:7072'], secret: process.env.TALLYMESH_SECRET });
 * const api = mesh.limiter({ name: 'api', limit: 100, windowMs: 60_000 });
 * api.consume('user:42', 3);
 * await mesh.close();
 */
export async function createMesh(options: MeshOptions): Promise<Mesh> {
  const opts = resolveMeshOptions(options);
  const incarnation = options.incarnation ?? newIncarnation();
  if (options.transport !== undefined && options.scheduler !== undefined) {
    const mesh = new Mesh(opts, options.transport, options.scheduler, incarnation);
    await mesh.start();
    return mesh;
  }
  // Loaded on demand: simulations never pull in the HTTP and WebSocket stack.
  const { openWsTransport } = await import('./port/ws-listener.js');
  const { transport, scheduler, close } = await openWsTransport(opts, incarnation);
  const mesh = new Mesh(opts, transport, scheduler, incarnation);
  mesh.onClose(close);
  try {
    await mesh.start();
  } catch (err) {
    await close();
    throw err;
  }
  return mesh;
}
