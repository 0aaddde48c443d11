/**
 * What the parts of the replicator share: its options, the events it reports,
 * its counters, and the {@link ReplicationContext} handed to each part (the
 * node's clock, transport, scheduler and limiters, and the one way to send a
 * frame to a peer).
 *
 * @module
 */
import type { Hlc } from '../../crdt/hlc.js';
import type { Frame } from '../../transport/codec/frame.js';
import type { Scheduler } from '../../transport/scheduler.js';
import type { DialResult, Transport } from '../../transport/transport.js';
import type { Limiter } from '../limiter/limiter.js';
import type { Peer, PeerLinkState } from './peer.js';

/** Tunables of the replicator (validated by the mesh). */
export interface ReplicatorOptions {
  gossipIntervalMs: number;
  digestIntervalMs: number;
  suspectAfterMs: number;
  /** A peer not heard for this long is no longer a member: it holds no partition share, and a down one is forgotten. */
  forgetAfterMs: number;
  /** Cells a peer's delta log may hold before it is replaced by a snapshot. */
  maxLogCells: number;
  /** Keys sent per snapshot chunk. */
  snapshotChunkKeys: number;
  /** Consecutive skewed frames before the peer is disconnected. */
  maxSkewStrikes: number;
  /** Send no snapshot chunk while the peer's send queue holds more than this. */
  snapshotQueueBytes: number;
}

/** What the replicator reports to its owner. */
export type ReplicatorEvent =
  | { type: 'peer'; nodeId: string; address: string; state: PeerLinkState; reason: string }
  | { type: 'skew'; nodeId: string; offsetMs: number }
  | { type: 'reject'; who: string; reason: string; detail: string }
  | { type: 'synced'; nodeId: string }
  /** A dial to `address` authenticated, or failed (each failed attempt; the transport redials). */
  | { type: 'dial'; address: string; result: DialResult }
  /** A batch from `nodeId` for `limiter` was refused: the peer gives it another window or bucket count. */
  | { type: 'geometry'; nodeId: string; limiter: string; local: { windowMs: number; buckets: number }; remote: { windowMs: number; buckets: number } }
  /** Closing, the link to `nodeId` could not send `frames` queued frames (`bytes` bytes) before it was cut. */
  | { type: 'unsent'; nodeId: string; frames: number; bytes: number };

/** Node-wide replication counters, as `/v1/cluster` reports them under `replication`. */
export interface ReplicationStats {
  /** DELTA frames sent by the gossip tick and by catch-up after silence. */
  deltaFrames: number;
  /** SNAPSHOT chunks sent. */
  snapshotChunks: number;
  /** DIGEST frames sent. */
  digestsSent: number;
  /** Shard pushes taken on in answer to a peer's REPAIR request (one per limiter asked for; throttled requests are not counted). */
  repairRequestsAnswered: number;
  /** Shard pushes this node started itself, after two digest rounds in a row differed from a peer's. */
  repairPushesStarted: number;
  /** SYNC frames sent: snapshots asked of a peer whose digest differed in most shards twice in a row. */
  syncsSent: number;
  /**
   * `repairRequestsAnswered + repairPushesStarted`.
   * @deprecated Counts pushes this node started too, not only answers; use
   * `repairRequestsAnswered` and `repairPushesStarted`. Removed in the next minor release.
   */
  repairsAnswered: number;
  /** Cells merged from peers' batches. */
  cellsMerged: number;
  /** Frames refused because the sender's clock ran too far ahead. */
  skewRejections: number;
  /** Per-peer logs or send queues that overflowed and were replaced by a snapshot. */
  logOverflows: number;
  /** Frames still queued for peers when `close()` cut their links (its close timeout passed, or the peer left mid-drain). */
  framesUnsent: number;
}

/** The counters the replicator keeps (the deprecated sum is derived, never stored). */
export type ReplicationCounters = Omit<ReplicationStats, 'repairsAnswered'>;

/** Fresh, zeroed counters. */
export function newReplicationCounters(): ReplicationCounters {
  return {
    deltaFrames: 0,
    snapshotChunks: 0,
    digestsSent: 0,
    repairRequestsAnswered: 0,
    repairPushesStarted: 0,
    syncsSent: 0,
    cellsMerged: 0,
    skewRejections: 0,
    logOverflows: 0,
    framesUnsent: 0,
  };
}

/** The counters as reported, with the deprecated `repairsAnswered` sum. */
export function replicationStats(counters: ReplicationCounters): ReplicationStats {
  return { ...counters, repairsAnswered: counters.repairRequestsAnswered + counters.repairPushesStarted };
}

/** What every part of the replicator works with. One per node, built by the replicator. */
export interface ReplicationContext {
  readonly nodeId: string;
  readonly hlc: Hlc;
  readonly transport: Transport;
  readonly scheduler: Scheduler;
  /** The node's limiters, by name (the mesh adds to this map). */
  readonly limiters: Map<string, Limiter>;
  readonly options: ReplicatorOptions;
  readonly counters: ReplicationCounters;
  /** Reports an event to the replicator's owner. */
  emit(event: ReplicatorEvent): void;
  /** Stamps `frame` with our HLC and our physical clock and queues it for `peer`; false when the transport refused it. */
  send(peer: Peer, frame: Frame): boolean;
  /**
   * Refuses something `peer` sent or asked for: counted on the peer (per
   * reason, as `/v1/cluster` and the metrics show it) and reported as a
   * `reject` event (which the daemon logs, sampled per reason).
   */
  refuse(peer: Peer, reason: string, detail: string): void;
}

/** Builds the context, with the one `send` every part uses. */
export function createReplicationContext(args: Omit<ReplicationContext, 'send' | 'refuse' | 'counters'>): ReplicationContext {
  const { hlc, transport, scheduler, emit } = args;
  return {
    ...args,
    counters: newReplicationCounters(),
    send(peer: Peer, frame: Frame): boolean {
      const now = scheduler.now();
      // Both clocks: receivers judge us by our own physical clock, not by the HLC we relay.
      frame.physicalMs = now;
      frame.hlc = hlc.tick(now);
      const ok = transport.send(peer.nodeId, frame);
      if (ok) peer.lastSentAt = now;
      return ok;
    },
    refuse(peer: Peer, reason: string, detail: string): void {
      peer.reject(reason);
      emit({ type: 'reject', who: peer.nodeId, reason, detail });
    },
  };
}
