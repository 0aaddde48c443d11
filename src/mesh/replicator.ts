/**
 * Replication of a node's limiters to its peers over a {@link Transport}.
 * The replicator only wires its parts to the transport and the timers:
 *
 * - `deltas.ts`: the gossip tick's deltas, per-peer retained logs (log
 *   compaction) and catch-up after silence;
 * - `snapshots.ts`: chunked snapshots per peer (Raft's InstallSnapshot);
 * - `anti-entropy.ts`: digest rounds and repair;
 * - `membership.ts`: the peer table, PEERS gossip, suspicion, skew strikes;
 * - `readiness.ts`: the initial sync with each peer;
 * - `window-batches.ts`: limiter state to frames and back.
 *
 * Nothing here throws on the network path: a bad frame is counted and, for
 * clock skew that persists, the peer is disconnected.
 *
 * @module
 */
import { wallOf, type Hlc } from '../../crdt/hlc.js';
import { FrameType, type Frame } from '../../transport/codec/frame.js';
import type { Scheduler } from '../../transport/scheduler.js';
import type { PeerInfo, RejectReason, Transport } from '../../transport/transport.js';
import type { Limiter } from '../limiter/limiter.js';
import { AntiEntropy } from './anti-entropy.js';
import { DeltaGossip } from './deltas.js';
import { Membership } from './membership.js';
import { RelayRoutes, type RelayMode } from './relay-routes.js';
import type { Peer } from './peer.js';
import { InitialSync, syncedState } from './readiness.js';
import {
  createReplicationContext,
  replicationStats,
  type ReplicationContext,
  type ReplicationStats,
  type ReplicatorEvent,
  type ReplicatorOptions,
} from './replication-context.js';
import { SnapshotStreamer } from './snapshots.js';
import { mergeBatches } from './window-batches.js';

export type { ReplicationStats, ReplicatorEvent, ReplicatorOptions };

/** Drives replication for one node. */
export class Replicator {
  #ctx: ReplicationContext;
  #membership: Membership;
  #routes: RelayRoutes;
  #deltas: DeltaGossip;
  #snapshots: SnapshotStreamer;
  #antiEntropy: AntiEntropy;
  #sync: InitialSync;
  #timers: Array<() => void> = [];
  #closed = false;

  constructor(args: {
    nodeId: string;
    hlc: Hlc;
    transport: Transport;
    scheduler: Scheduler;
    limiters: Map<string, Limiter>;
    options: ReplicatorOptions;
    emit: (event: ReplicatorEvent) => void;
  }) {
    this.#ctx = createReplicationContext(args);
    this.#membership = new Membership(this.#ctx);
    this.#routes = new RelayRoutes(this.#ctx, this.#membership.peers);
    this.#membership.onLinksChanged = () => {
      this.#routes.invalidate();
      this.#membership.sendPeers();
    };
    this.#deltas = new DeltaGossip(this.#ctx, this.#routes);
    this.#snapshots = new SnapshotStreamer(this.#ctx);
    this.#antiEntropy = new AntiEntropy(this.#ctx, this.#membership.peers);
    this.#sync = new InitialSync(this.#ctx, this.#membership);
  }

  /** Peer records, by node id. */
  get peers(): ReadonlyMap<string, Peer> {
    return this.#membership.peers;
  }

  /** @internal How this node relays other replicas' cells (`targeted` by default; tests compare with `off` and `all`). */
  get relayMode(): RelayMode {
    return this.#routes.mode;
  }

  set relayMode(mode: RelayMode) {
    this.#routes.mode = mode;
    this.#routes.invalidate();
  }

  /** Node-wide replication counters (a copy). */
  get stats(): ReplicationStats {
    return replicationStats(this.#ctx.counters);
  }

  /** Starts the transport and the gossip and digest timers, and dials `seeds`. */
  async start(seeds: string[]): Promise<void> {
    await this.#ctx.transport.start({
      onPeerUp: (peer) => this.#peerUp(peer),
      onPeerDown: (nodeId, reason) => this.#peerDown(nodeId, reason),
      onFrame: (nodeId, frame) => this.#onFrame(nodeId, frame),
      onOverflow: (nodeId) => this.#overflow(nodeId),
      onReject: (who, reason, detail) => this.#onReject(who, reason, detail),
      onDialResult: (address, result) => this.#ctx.emit({ type: 'dial', address, result }),
      onUnsent: (nodeId, frames, bytes) => {
        this.#ctx.counters.framesUnsent += frames;
        this.#ctx.emit({ type: 'unsent', nodeId, frames, bytes });
      },
    });
    const { scheduler, options } = this.#ctx;
    this.#timers.push(scheduler.every(options.gossipIntervalMs, () => this.tick()));
    this.#timers.push(scheduler.every(options.digestIntervalMs, () => this.#digestTick()));
    for (const address of seeds) this.dial(address);
  }

  /** Keeps a link to `address` (ignored for our own address). */
  dial(address: string): void {
    if (!this.#closed) this.#membership.dial(address);
  }

  /** Stops redialing `address` (see `Membership.forget`). */
  forget(address: string): void {
    if (!this.#closed) this.#membership.forget(address);
  }

  /**
   * One gossip tick: sweep a paced share of every limiter's slots, mark
   * silent peers suspect, stream snapshot chunks, ship every limiter's
   * changes to every peer (sent or retained), walk on with the repairs owed
   * to each, and ping idle links. Called
   * every gossip interval, early when a limiter's pending changes pass a
   * bound, and on shutdown.
   */
  tick(): void {
    if (this.#closed) return;
    const now = this.#ctx.scheduler.now();
    // Merges create slots the node never counts in; this paced share of a
    // sweep frees them once expired, so held keys track live keys on every
    // node, linked or not (issue 9, defect 1).
    for (const limiter of this.#ctx.limiters.values()) limiter.replica.sweepDue();
    if (!this.#membership.anyLinked()) {
      this.#deltas.discard();
      return;
    }
    const deltas = this.#deltas.drain();
    for (const peer of this.#membership.peers.values()) {
      // A peer that is down gets a snapshot when it reconnects: nothing to keep.
      if (!peer.linked) continue;
      this.#membership.checkSilence(peer, now);
      // Deltas taken while a snapshot streams still go out: the snapshot
      // may have passed their keys already.
      if (peer.owesSnapshot) this.#snapshots.stream(peer);
      this.#deltas.ship(peer, deltas, now);
      // Repairs owed (answers and pushes) go out in walks of bounded length.
      this.#antiEntropy.stream(peer);
      this.#membership.keepAlive(peer, now);
    }
  }

  /** Sends BYE to every linked peer, after a last tick. */
  goodbye(reason: string): void {
    this.tick();
    this.#membership.goodbye(reason);
  }

  /** Stops timers and closes the transport. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const cancel of this.#timers) cancel();
    await this.#ctx.transport.close();
  }

  /** The digest timer: an anti-entropy round, then PEERS gossip. */
  #digestTick(): void {
    if (this.#closed) return;
    this.#antiEntropy.round();
    this.#membership.sendPeers();
  }

  #peerUp(info: PeerInfo): void {
    const peer = this.#membership.linkUp(info);
    // A new link: what the peer reported before is stale (relay to it until its PEERS arrives).
    peer.links = null;
    this.#routes.invalidate();
    // A new connection may have lost frames in flight on the old one: a
    // snapshot makes the peer whole, and replaces whatever the log held.
    this.#snapshots.restart(peer);
    this.#sync.linkUp(peer, info.incarnation);
    this.#membership.sendPeers();
    this.#snapshots.stream(peer);
  }

  #peerDown(nodeId: string, reason: string): void {
    const peer = this.#membership.peers.get(nodeId);
    if (peer === undefined) return;
    this.#snapshots.interrupt(peer);
    this.#membership.linkDown(peer, reason);
  }

  /** The transport dropped deltas from the peer's full send queue: only a snapshot makes it whole. */
  #overflow(nodeId: string): void {
    const peer = this.#membership.peers.get(nodeId);
    if (peer === undefined) return;
    this.#snapshots.restart(peer);
    this.#ctx.counters.logOverflows++;
  }

  #onReject(who: string, reason: RejectReason, detail: string): void {
    this.#membership.peers.get(who)?.reject(reason);
    this.#ctx.emit({ type: 'reject', who, reason, detail });
  }

  #onFrame(nodeId: string, frame: Frame): void {
    const peer = this.#membership.peers.get(nodeId);
    if (peer === undefined || this.#closed) return;
    const now = this.#ctx.scheduler.now();
    if (!this.#membership.hear(peer, frame.hlc, frame.physicalMs ?? 0, now)) return;
    if (peer.state === 'suspect' || peer.state === 'skewed') {
      // Back from silence: the retained log goes out on the next tick.
      peer.catchUp = true;
      this.#membership.setState(peer, syncedState(peer), 'heard again');
    }
    switch (frame.type) {
      case FrameType.DELTA:
        this.#deltas.receive(peer, frame.body.batches);
        break;
      case FrameType.SNAPSHOT:
        // Not relayed: a joiner would send the whole window on to every peer at once.
        mergeBatches(this.#ctx, peer, frame.body.batches, false);
        this.#sync.snapshotChunk(peer, frame.body.done);
        break;
      case FrameType.DIGEST:
        this.#antiEntropy.onDigest(peer, frame.body.digests);
        break;
      case FrameType.REPAIR:
        this.#antiEntropy.onRepair(peer, frame.body.wants);
        break;
      case FrameType.PEERS:
        this.#membership.learn(frame.body.peers);
        // Its live links target our relays; a pair that lost its direct path is owed the origin's cells.
        for (const { peer: to, origin } of this.#routes.report(peer, frame.body.peers)) this.#antiEntropy.oweOrigin(to, origin);
        break;
      case FrameType.SYNC:
        this.#snapshots.request(peer);
        break;
      case FrameType.BYE:
        // Gone on purpose, its hits flushed before the BYE: no longer a member holding a share.
        peer.left = true;
        this.#membership.setState(peer, 'down', `left: ${frame.body.reason}`);
        break;
      default:
        break; // PING: being heard is the point
    }
  }
}
