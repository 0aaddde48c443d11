/**
 * Replication of a node's limiters to its peers over a {@link Transport}.
 *
 * - Deltas: every gossip interval each limiter's changed cells go to every
 *   live peer in one DELTA frame (split only when a frame would be too big).
 * - Log compaction: a peer that cannot take deltas (suspect, queue full) gets
 *   them joined into its {@link DeltaLog}; past the log's bound it gets a
 *   snapshot instead, streamed in chunks (Raft's InstallSnapshot).
 * - Anti-entropy: periodic per-shard digests; a difference triggers a push of
 *   our shard contents and a REPAIR request for theirs. This also carries
 *   cells of third nodes one side cannot reach.
 * - Membership: PEERS frames spread known addresses; silence past
 *   `suspectAfterMs` marks a peer suspect until it is heard again.
 *
 * Nothing here throws on the network path: a bad frame is counted and, for
 * clock skew that persists, the peer is disconnected.
 *
 * @module
 */
import type { Hlc } from '../../crdt/hlc.js';
import { wallOf } from '../../crdt/hlc.js';
import { FrameType, type Frame, type WindowBatch } from '../../transport/codec/frame.js';
import type { PeerInfo, RejectReason, Scheduler, Transport } from '../../transport/transport.js';
import { compareDigests, DIGEST_SHARDS, digestRange } from './anti-entropy.js';
import { sameGeometry, splitBatches, toBatch, MAX_KEYS_PER_FRAME } from './window-batches.js';
import type { Limiter } from '../limiter/limiter.js';
import { Peer } from './peer.js';

/** Tunables of the replicator (validated by the mesh). */
export interface ReplicatorOptions {
  gossipIntervalMs: number;
  digestIntervalMs: number;
  suspectAfterMs: number;
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
  | { type: 'peer'; nodeId: string; address: string; state: Peer['state']; reason: string }
  | { type: 'skew'; nodeId: string; offsetMs: number }
  | { type: 'reject'; who: string; reason: string; detail: string }
  | { type: 'synced'; nodeId: string };

/** Node-wide replication counters. */
export interface ReplicationStats {
  deltaFrames: number;
  snapshotChunks: number;
  digestsSent: number;
  repairsAnswered: number;
  cellsMerged: number;
  skewRejections: number;
  logOverflows: number;
}

/** Most peer records kept; past it, the longest-silent down peers are forgotten. */
const MAX_PEERS = 256;
/** Most addresses dialed. */
const MAX_KNOWN_ADDRESSES = 1024;
/** A peer down for this long is forgotten (it comes back through PEERS or --peers). */
const STALE_PEER_MS = 10 * 60_000;

/** Drives replication for one node. */
export class Replicator {
  readonly peers = new Map<string, Peer>();
  readonly stats: ReplicationStats = {
    deltaFrames: 0,
    snapshotChunks: 0,
    digestsSent: 0,
    repairsAnswered: 0,
    cellsMerged: 0,
    skewRejections: 0,
    logOverflows: 0,
  };
  /** Addresses of nodes we know (from --peers and PEERS frames), by address. */
  readonly known = new Set<string>();
  #nodeId: string;
  #hlc: Hlc;
  #transport: Transport;
  #scheduler: Scheduler;
  #limiters: Map<string, Limiter>;
  #opts: ReplicatorOptions;
  #emit: (event: ReplicatorEvent) => void;
  #timers: Array<() => void> = [];
  #closed = false;
  /** Our digests of the current anti-entropy round, per limiter. */
  #digests = new Map<string, { name: string; from: number; to: number; shards: number[] }>();

  constructor(args: {
    nodeId: string;
    hlc: Hlc;
    transport: Transport;
    scheduler: Scheduler;
    limiters: Map<string, Limiter>;
    options: ReplicatorOptions;
    emit: (event: ReplicatorEvent) => void;
  }) {
    this.#nodeId = args.nodeId;
    this.#hlc = args.hlc;
    this.#transport = args.transport;
    this.#scheduler = args.scheduler;
    this.#limiters = args.limiters;
    this.#opts = args.options;
    this.#emit = args.emit;
  }

  /** Starts the transport and the gossip and digest timers, and dials `seeds`. */
  async start(seeds: string[]): Promise<void> {
    await this.#transport.start({
      onPeerUp: (peer) => this.#peerUp(peer),
      onPeerDown: (nodeId, reason) => this.#peerDown(nodeId, reason),
      onFrame: (nodeId, frame) => this.#onFrame(nodeId, frame),
      onOverflow: (nodeId) => this.#overflow(nodeId),
      onReject: (who, reason, detail) => this.#onReject(who, reason, detail),
    });
    this.#timers.push(this.#scheduler.every(this.#opts.gossipIntervalMs, () => this.flush()));
    this.#timers.push(this.#scheduler.every(this.#opts.digestIntervalMs, () => this.#antiEntropy()));
    for (const address of seeds) this.dial(address);
  }

  /** Keeps a link to `address` (ignored for our own address). */
  dial(address: string): void {
    if (this.#closed || address === '' || address === this.#transport.address() || this.known.has(address)) return;
    // PEERS frames come from authenticated peers, but still: a bounded dial list.
    if (this.known.size >= MAX_KNOWN_ADDRESSES) return;
    this.known.add(address);
    this.#transport.connect(address);
  }

  /**
   * One gossip step: ship every limiter's changes to every peer, stream
   * snapshot chunks, and mark silent peers. Called every gossip interval, early
   * when a limiter's pending changes pass a bound, and on shutdown.
   */
  flush(): void {
    if (this.#closed) return;
    const now = this.#scheduler.now();
    let linked = false;
    for (const peer of this.peers.values()) linked ||= peer.linked;
    if (!linked) {
      // Nobody to send to, and whoever connects gets a snapshot: building
      // the deltas would be pure waste on the decision path's event loop.
      for (const limiter of this.#limiters.values()) limiter.discardDelta();
      return;
    }
    const batches: WindowBatch[] = [];
    for (const limiter of this.#limiters.values()) {
      const { state, limitChanged } = limiter.drainDelta();
      if (state !== null || limitChanged) batches.push(toBatch(limiter, state ?? { replicas: [], keys: [] }, limitChanged));
    }
    const frames = batches.length > 0 ? splitBatches(batches) : [];
    for (const peer of this.peers.values()) {
      // A peer that is down gets a snapshot when it reconnects: nothing to keep.
      if (!peer.connected) continue;
      if (peer.state !== 'suspect' && now - peer.lastHeardAt > this.#opts.suspectAfterMs) {
        this.#setState(peer, 'suspect', `silent for ${now - peer.lastHeardAt} ms`);
      }
      if (peer.needsSnapshot || peer.snapshot !== null) {
        // Deltas taken while a snapshot streams still go out: the snapshot
        // may have passed their keys already.
        this.#streamSnapshot(peer);
      }
      const reachable = peer.state !== 'suspect' && peer.state !== 'skewed';
      // Catch up first: rotating now would forget what it missed while silent.
      if (reachable && peer.catchUp) this.#sendRetained(peer);
      if (reachable && now - peer.rotatedAt >= this.#opts.suspectAfterMs) peer.rotate(now);
      this.#retain(peer, batches);
      if (reachable) {
        for (const body of frames) {
          if (this.#send(peer, { type: FrameType.DELTA, hlc: 0, body: { batches: body } })) this.stats.deltaFrames++;
        }
      }
      if (now - peer.lastSentAt >= this.#opts.suspectAfterMs / 4) this.#send(peer, { type: FrameType.PING, hlc: 0, body: {} });
    }
  }

  /** Sends BYE to every live peer, after a last flush. */
  goodbye(reason: string): void {
    this.flush();
    for (const peer of this.peers.values()) {
      if (peer.connected) this.#send(peer, { type: FrameType.BYE, hlc: 0, body: { reason } });
    }
  }

  /** Stops timers and closes the transport. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const cancel of this.#timers) cancel();
    await this.#transport.close();
  }

  // --- sending ---

  #send(peer: Peer, frame: Frame): boolean {
    frame.hlc = this.#hlc.tick(this.#scheduler.now());
    const ok = this.#transport.send(peer.nodeId, frame);
    if (ok) peer.lastSentAt = this.#scheduler.now();
    return ok;
  }

  /** Joins batches into a peer's retained log; past its bound the peer gets a snapshot instead. */
  #retain(peer: Peer, batches: WindowBatch[]): void {
    if (peer.needsSnapshot || batches.length === 0) return; // a snapshot will carry it
    for (const b of batches) peer.log.add(b.name, b);
    if (peer.retainedCells > this.#opts.maxLogCells) {
      peer.clearLogs();
      peer.catchUp = false;
      peer.needsSnapshot = true;
      this.stats.logOverflows++;
    }
  }

  /** Sends everything retained for a peer that was heard again after silence. */
  #sendRetained(peer: Peer): void {
    peer.catchUp = false;
    const batches: WindowBatch[] = [];
    for (const log of [peer.previous, peer.log]) {
      for (const { limiter: name, state } of log.drain()) {
        const limiter = this.#limiters.get(name);
        if (limiter !== undefined) batches.push(toBatch(limiter, state, true));
      }
    }
    peer.rotatedAt = this.#scheduler.now();
    for (const body of splitBatches(batches)) {
      if (this.#send(peer, { type: FrameType.DELTA, hlc: 0, body: { batches: body } })) this.stats.deltaFrames++;
      else {
        peer.needsSnapshot = true;
        return;
      }
    }
  }

  /** Sends the next snapshot chunks to `peer`, a few per call so one peer cannot starve the rest. */
  #streamSnapshot(peer: Peer): void {
    if (peer.snapshot === null) {
      peer.snapshot = { limiter: 0, cursor: 0, seq: 0 };
      peer.needsSnapshot = false;
      peer.catchUp = false;
      peer.clearLogs();
    }
    const limiters = [...this.#limiters.values()];
    const snap = peer.snapshot;
    for (let chunks = 0; chunks < 4; chunks++) {
      if (this.#transport.stats(peer.nodeId).queuedBytes > this.#opts.snapshotQueueBytes) return;
      const batches: WindowBatch[] = [];
      let keys = 0;
      while (snap.limiter < limiters.length && keys < this.#opts.snapshotChunkKeys) {
        const limiter = limiters[snap.limiter];
        const { state, cursor } = limiter.snapshot(snap.cursor, this.#opts.snapshotChunkKeys - keys);
        batches.push(toBatch(limiter, state, true));
        keys += state.keys.length;
        if (cursor === -1) {
          snap.limiter++;
          snap.cursor = 0;
        } else snap.cursor = cursor;
      }
      const done = snap.limiter >= limiters.length;
      const frames = splitBatches(batches);
      if (frames.length === 0) frames.push([]);
      for (let i = 0; i < frames.length; i++) {
        const last = done && i === frames.length - 1;
        const ok = this.#send(peer, { type: FrameType.SNAPSHOT, hlc: 0, body: { batches: frames[i], seq: snap.seq++, done: last } });
        if (!ok) {
          // Link lost mid-snapshot: start over when it is back.
          peer.snapshot = null;
          peer.needsSnapshot = true;
          return;
        }
        this.stats.snapshotChunks++;
      }
      if (done) {
        peer.snapshot = null;
        return;
      }
    }
  }

  #antiEntropy(): void {
    if (this.#closed) return;
    // A digest costs a pass over every key: only take it for someone.
    if (![...this.peers.values()].some((p) => p.linked && (p.state === 'live' || p.state === 'suspect'))) {
      this.#sendPeers();
      return;
    }
    const digests = [];
    this.#digests.clear();
    for (const limiter of this.#limiters.values()) {
      const { from, to } = digestRange(limiter);
      if (to < from) continue;
      const digest = { name: limiter.name, from, to, shards: limiter.digest(from, to, DIGEST_SHARDS) };
      this.#digests.set(limiter.name, digest);
      digests.push(digest);
    }
    for (const peer of this.peers.values()) {
      if (peer.state !== 'live' && peer.state !== 'suspect') continue;
      if (digests.length > 0 && this.#send(peer, { type: FrameType.DIGEST, hlc: 0, body: { digests } })) this.stats.digestsSent++;
    }
    this.#sendPeers();
  }

  /** Tells every connected peer the peers we know, so joining one seed is enough. */
  #sendPeers(): void {
    const list = [];
    for (const peer of this.peers.values()) {
      if (peer.address !== '') list.push({ nodeId: peer.nodeId, address: peer.address });
    }
    for (const peer of this.peers.values()) {
      if (peer.connected) this.#send(peer, { type: FrameType.PEERS, hlc: 0, body: { peers: list } });
    }
  }

  // --- receiving ---

  #peerUp(info: PeerInfo): void {
    let peer = this.peers.get(info.nodeId);
    if (peer === undefined) {
      peer = new Peer(info.nodeId, info.address);
      this.peers.set(info.nodeId, peer);
    }
    if (peer.incarnation !== info.incarnation) {
      // A new process behind that node id: it must sync from us again.
      peer.incarnation = info.incarnation;
      peer.syncedFrom = false;
    }
    // A new connection may have lost frames in flight on the old one: a
    // snapshot makes the peer whole, and replaces whatever the log held.
    peer.needsSnapshot = true;
    peer.snapshot = null;
    peer.clearLogs();
    peer.linked = true;
    peer.address = info.address || peer.address;
    if (peer.address !== '') this.known.add(peer.address);
    peer.lastHeardAt = this.#scheduler.now();
    peer.skewStrikes = 0;
    this.#setState(peer, peer.syncedFrom ? 'live' : 'syncing', 'connected');
    this.#sendPeers();
    this.#streamSnapshot(peer);
  }

  #peerDown(nodeId: string, reason: string): void {
    const peer = this.peers.get(nodeId);
    if (peer === undefined) return;
    peer.linked = false;
    if (peer.snapshot !== null) {
      peer.snapshot = null;
      peer.needsSnapshot = true;
    }
    // A peer dropped for its clock stays `skewed`, so the cluster view keeps saying why.
    if (peer.state === 'skewed' || reason === 'clock-skew') this.#setState(peer, 'skewed', `disconnected: clock ${peer.clockOffsetMs} ms ahead`);
    else this.#setState(peer, 'down', reason);
    this.#forgetStalePeers();
  }

  /**
   * Bounds the peer table: forgets peers down for longer than STALE_PEER_MS
   * and, past MAX_PEERS records, the longest-silent down ones. A node id that
   * authenticated once must not cost memory for ever.
   */
  #forgetStalePeers(): void {
    const now = this.#scheduler.now();
    const down = [...this.peers.values()].filter((p) => !p.linked).sort((a, b) => a.lastHeardAt - b.lastHeardAt);
    let excess = this.peers.size - MAX_PEERS;
    for (const p of down) {
      if (excess <= 0 && now - p.lastHeardAt < STALE_PEER_MS) break;
      this.peers.delete(p.nodeId);
      excess--;
    }
  }

  #overflow(nodeId: string): void {
    const peer = this.peers.get(nodeId);
    if (peer === undefined) return;
    peer.clearLogs();
    peer.needsSnapshot = true;
    peer.snapshot = null;
    this.stats.logOverflows++;
  }

  #onReject(who: string, reason: RejectReason, detail: string): void {
    this.peers.get(who)?.reject(reason);
    this.#emit({ type: 'reject', who, reason, detail });
  }

  #onFrame(nodeId: string, frame: Frame): void {
    const peer = this.peers.get(nodeId);
    if (peer === undefined || this.#closed) return;
    const now = this.#scheduler.now();
    if (!this.#hlc.receive(frame.hlc, now)) {
      // Its wall clock runs too far ahead: taking its buckets would drag ours.
      peer.reject('clock-skew');
      peer.clockOffsetMs = wallOf(frame.hlc) - now;
      this.stats.skewRejections++;
      this.#emit({ type: 'skew', nodeId, offsetMs: peer.clockOffsetMs });
      if (peer.state !== 'skewed') this.#setState(peer, 'skewed', `clock ${peer.clockOffsetMs} ms ahead`);
      if (++peer.skewStrikes >= this.#opts.maxSkewStrikes) {
        peer.skewStrikes = 0;
        this.#transport.disconnect(nodeId, 'clock-skew');
      }
      return;
    }
    peer.skewStrikes = 0;
    peer.lastHeardAt = now;
    peer.clockOffsetMs = wallOf(frame.hlc) - now;
    if (peer.state === 'suspect' || peer.state === 'skewed') {
      // Back from silence: the retained log goes out on the next flush.
      peer.catchUp = true;
      this.#setState(peer, peer.syncedFrom ? 'live' : 'syncing', 'heard again');
    }
    switch (frame.type) {
      case FrameType.DELTA:
        peer.replicationLagMs = peer.replicationLagMs * 0.8 + Math.max(0, now - wallOf(frame.hlc)) * 0.2;
        this.#mergeBatches(peer, frame.body.batches);
        break;
      case FrameType.SNAPSHOT:
        this.#mergeBatches(peer, frame.body.batches);
        if (frame.body.done && !peer.syncedFrom) {
          peer.syncedFrom = true;
          this.#setState(peer, 'live', 'synced');
          this.#emit({ type: 'synced', nodeId });
        }
        break;
      case FrameType.DIGEST:
        this.#onDigest(peer, frame.body.digests);
        break;
      case FrameType.REPAIR:
        for (const want of frame.body.wants) {
          const limiter = this.#limiters.get(want.name);
          if (limiter !== undefined) this.#pushShards(peer, limiter, new Set(want.shards));
        }
        break;
      case FrameType.PEERS:
        for (const p of frame.body.peers) if (p.nodeId !== this.#nodeId) this.dial(p.address);
        break;
      case FrameType.SYNC:
        peer.needsSnapshot = true;
        break;
      case FrameType.BYE:
        this.#setState(peer, 'down', `left: ${frame.body.reason}`);
        break;
      default:
        break; // PING: being heard is the point
    }
  }

  #mergeBatches(peer: Peer, batches: WindowBatch[]): void {
    for (const batch of batches) {
      const limiter = this.#limiters.get(batch.name);
      if (limiter === undefined) {
        peer.reject('unknown-limiter');
        continue;
      }
      if (!sameGeometry(limiter, batch)) {
        peer.reject('geometry');
        continue;
      }
      if (batch.limit !== null) {
        // A register stamped beyond the clock bound would win every later change for ever.
        if (wallOf(batch.limit[0]) - this.#scheduler.now() > this.#hlc.maxOffsetMs) peer.reject('future-timestamp');
        else limiter.mergeLimit({ ts: batch.limit[0], replica: batch.limit[1], value: batch.limit[2] });
      }
      this.stats.cellsMerged += limiter.merge(batch);
    }
  }

  #onDigest(peer: Peer, digests: Array<{ name: string; from: number; to: number; shards: number[] }>): void {
    const wants = [];
    for (const d of digests) {
      const limiter = this.#limiters.get(d.name);
      if (limiter === undefined || d.shards.length !== DIGEST_SHARDS) continue;
      // Peers' digests arrive within one interval of ours and mostly cover the
      // same buckets: reuse our own pass instead of one pass per peer.
      let ours = this.#digests.get(d.name);
      if (ours === undefined || ours.from !== d.from || ours.to !== d.to) {
        ours = { name: d.name, from: d.from, to: d.to, shards: limiter.digest(d.from, d.to, DIGEST_SHARDS) };
        this.#digests.set(d.name, ours);
      }
      // Repair only shards that differed in the previous round too: a
      // difference that the deltas in flight are about to settle must not
      // start an exchange of whole shards (under load that snowballs).
      const previous = peer.differing.get(d.name);
      const now = compareDigests(ours.shards, d.shards);
      peer.differing.set(d.name, new Set(now));
      const differing = previous === undefined ? [] : now.filter((shard) => previous.has(shard));
      if (differing.length === 0) continue;
      // Push ours and pull theirs: one round trip repairs both directions.
      this.#pushShards(peer, limiter, new Set(differing));
      wants.push({ name: d.name, from: d.from, to: d.to, shards: differing });
    }
    if (wants.length > 0) this.#send(peer, { type: FrameType.REPAIR, hlc: 0, body: { wants } });
  }

  #pushShards(peer: Peer, limiter: Limiter, shards: Set<number>): void {
    const state = limiter.shardState(DIGEST_SHARDS, shards);
    if (state.keys.length === 0) return;
    this.stats.repairsAnswered++;
    for (let i = 0; i < state.keys.length; i += MAX_KEYS_PER_FRAME) {
      const part = { replicas: state.replicas, keys: state.keys.slice(i, i + MAX_KEYS_PER_FRAME) };
      for (const body of splitBatches([toBatch(limiter, part, true)])) {
        this.#send(peer, { type: FrameType.DELTA, hlc: 0, body: { batches: body } });
      }
    }
  }

  #setState(peer: Peer, state: Peer['state'], reason: string): void {
    if (peer.state === state) return;
    peer.state = state;
    peer.reason = reason;
    this.#emit({ type: 'peer', nodeId: peer.nodeId, address: peer.address, state, reason });
  }
}
