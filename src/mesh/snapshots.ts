/**
 * Snapshots, Raft's InstallSnapshot for a window: a peer that is new,
 * reconnected, restarted or too far behind for its delta log gets the live
 * window of every limiter instead, streamed in chunks per peer. This file
 * owns when a snapshot (re)starts, the chunking and its back-pressure (a few
 * chunks per call, none while the peer's send queue is full), starting over
 * when the link drops mid-stream, and the peer's SYNC requests.
 *
 * A snapshot is a walk over every key, so a peer gets them no faster than
 * its request budget (`request-budget.ts`) allows (issue 9, defect 7): past
 * it a snapshot owed waits (reported once per wait) and a SYNC is refused,
 * counted and reported.
 *
 * @module
 */
import { FrameType, type WindowBatch } from '../../transport/codec/frame.js';
import type { Peer } from './peer.js';
import type { ReplicationContext } from './replication-context.js';
import { splitBatches, toBatch } from './window-batches.js';

/** Most chunks one call sends to one peer, so that one peer cannot starve the rest. */
const CHUNKS_PER_CALL = 4;

/** Streams snapshots to the peers that are owed one. */
export class SnapshotStreamer {
  #ctx: ReplicationContext;

  constructor(ctx: ReplicationContext) {
    this.#ctx = ctx;
  }

  /**
   * The peer must get a fresh snapshot (its link is new, or its send queue
   * dropped deltas): whatever was retained or in progress is moot.
   */
  restart(peer: Peer): void {
    peer.clearLogs();
    peer.needsSnapshot = true;
    peer.snapshot = null;
  }

  /** The link dropped: a snapshot in progress starts over when it is back. */
  interrupt(peer: Peer): void {
    if (peer.snapshot !== null) {
      peer.snapshot = null;
      peer.needsSnapshot = true;
    }
  }

  /**
   * A peer asks for a snapshot (SYNC). Nothing to do when one is owed
   * already; refused (counted and reported) when its budget has no room for
   * another; owed otherwise (the next tick starts it).
   */
  request(peer: Peer): void {
    if (peer.needsSnapshot) return;
    const { options, scheduler } = this.#ctx;
    if (!peer.budget.available('snapshot', scheduler.now(), options.digestIntervalMs)) {
      this.#ctx.refuse(peer, 'snapshot-throttled', 'SYNC, more often than the snapshot budget allows');
      return;
    }
    peer.needsSnapshot = true;
  }

  /** Sends the next snapshot chunks to `peer` (starting the snapshot if none is in progress and its budget allows). */
  stream(peer: Peer): void {
    if (peer.snapshot === null) {
      const { options, scheduler } = this.#ctx;
      if (!peer.budget.take('snapshot', scheduler.now(), options.digestIntervalMs)) {
        if (!peer.snapshotDeferred) this.#ctx.refuse(peer, 'snapshot-throttled', 'snapshot deferred: more asked for than the snapshot budget allows');
        peer.snapshotDeferred = true;
        return;
      }
      peer.snapshotDeferred = false;
      peer.snapshot = { limiter: 0, cursor: 0, seq: 0 };
      peer.needsSnapshot = false;
      peer.catchUp = false;
      peer.clearLogs();
    }
    const { limiters: byName, options, transport } = this.#ctx;
    const limiters = [...byName.values()];
    const snap = peer.snapshot;
    for (let chunks = 0; chunks < CHUNKS_PER_CALL; chunks++) {
      if (transport.stats(peer.nodeId).queuedBytes > options.snapshotQueueBytes) return;
      const batches: WindowBatch[] = [];
      let keys = 0;
      while (snap.limiter < limiters.length && keys < options.snapshotChunkKeys) {
        const limiter = limiters[snap.limiter];
        const { state, cursor } = limiter.replica.snapshot(snap.cursor, options.snapshotChunkKeys - keys);
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
        const ok = this.#ctx.send(peer, { type: FrameType.SNAPSHOT, hlc: 0, body: { batches: frames[i], seq: snap.seq++, done: last } });
        if (!ok) {
          // Link lost mid-snapshot: start over when it is back.
          this.interrupt(peer);
          return;
        }
        this.#ctx.counters.snapshotChunks++;
      }
      if (done) {
        peer.snapshot = null;
        return;
      }
    }
  }
}
