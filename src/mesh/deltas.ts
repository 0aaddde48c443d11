/**
 * Delta flushing, the payload of the gossip tick: each tick drains every
 * limiter's changed cells into window batches and sends them to every
 * reachable peer in as few DELTA frames as the frame bounds allow. It also
 * owns log compaction: every peer's retained delta log (the current and the
 * previous retention period), the catch-up send to a peer heard again after
 * silence, and the switch to a snapshot when a log outgrows `maxLogCells`.
 * On the receiving side it merges DELTA frames and keeps the lag estimate.
 *
 * @module
 */
import { wallOf } from '../../crdt/hlc.js';
import { FrameType, type WindowBatch } from '../../transport/codec/frame.js';
import type { Peer } from './peer.js';
import type { ReplicationContext } from './replication-context.js';
import { mergeBatches, splitBatches, toBatch } from './window-batches.js';

/** One tick's deltas: a batch per changed limiter, and the same split into frame bodies. */
export interface TickDeltas {
  batches: WindowBatch[];
  frames: WindowBatch[][];
}

/** Weight of the newest sample in the replication lag's moving average. */
const LAG_SMOOTHING = 0.2;

/** Sends, retains and receives deltas. */
export class DeltaGossip {
  #ctx: ReplicationContext;

  constructor(ctx: ReplicationContext) {
    this.#ctx = ctx;
  }

  /**
   * Drops every limiter's pending changes. For when no peer is linked:
   * whoever connects gets a snapshot, so building the deltas would be pure
   * waste on the decision path's event loop.
   */
  discard(): void {
    for (const limiter of this.#ctx.limiters.values()) limiter.replica.discardDelta();
  }

  /** Takes every limiter's pending changes (and runtime limit changes). */
  drain(): TickDeltas {
    const batches: WindowBatch[] = [];
    for (const limiter of this.#ctx.limiters.values()) {
      const { state, limitChanged } = limiter.replica.drainDelta();
      if (state !== null || limitChanged) batches.push(toBatch(limiter, state ?? { replicas: [], keys: [] }, limitChanged));
    }
    return { batches, frames: batches.length > 0 ? splitBatches(batches) : [] };
  }

  /**
   * Gives `peer` this tick's deltas: sent when it is reachable, retained in
   * its log either way (past the log's bound it is owed a snapshot instead).
   */
  ship(peer: Peer, deltas: TickDeltas, now: number): void {
    const reachable = peer.state !== 'suspect' && peer.state !== 'skewed';
    // Catch up first: rotating now would forget what it missed while silent.
    if (reachable && peer.catchUp) this.#sendRetained(peer);
    if (reachable && now - peer.rotatedAt >= this.#ctx.options.suspectAfterMs) peer.rotate(now);
    this.#retain(peer, deltas.batches);
    if (reachable) {
      for (const body of deltas.frames) this.#sendDelta(peer, body);
    }
  }

  /** Merges a DELTA frame from `peer` sent at HLC `hlc`, and updates its smoothed replication lag. */
  receive(peer: Peer, hlc: number, batches: WindowBatch[], now: number): void {
    peer.replicationLagMs = peer.replicationLagMs * (1 - LAG_SMOOTHING) + Math.max(0, now - wallOf(hlc)) * LAG_SMOOTHING;
    mergeBatches(this.#ctx, peer, batches);
  }

  #sendDelta(peer: Peer, batches: WindowBatch[]): boolean {
    const ok = this.#ctx.send(peer, { type: FrameType.DELTA, hlc: 0, body: { batches } });
    if (ok) this.#ctx.counters.deltaFrames++;
    return ok;
  }

  /** Joins batches into a peer's retained log; past its bound the peer gets a snapshot instead. */
  #retain(peer: Peer, batches: WindowBatch[]): void {
    if (peer.needsSnapshot || batches.length === 0) return; // a snapshot will carry it
    for (const b of batches) {
      peer.log.add(b.name, b);
      // The limit register too (joined LWW), so a change made while the peer was silent goes out with the catch-up.
      if (b.limit !== null) peer.log.addLimit(b.name, { ts: b.limit[0], replica: b.limit[1], value: b.limit[2] });
    }
    if (peer.retainedCells > this.#ctx.options.maxLogCells) {
      peer.clearLogs();
      peer.catchUp = false;
      peer.needsSnapshot = true;
      this.#ctx.counters.logOverflows++;
    }
  }

  /** Sends everything retained for a peer that was heard again after silence. */
  #sendRetained(peer: Peer): void {
    peer.catchUp = false;
    const batches: WindowBatch[] = [];
    for (const log of [peer.previous, peer.log]) {
      for (const { limiter: name, state } of log.drain()) {
        const limiter = this.#ctx.limiters.get(name);
        // Our register now is the join of every one retained (ours only grows): send it.
        if (limiter !== undefined) batches.push(toBatch(limiter, state, true));
      }
    }
    peer.rotatedAt = this.#ctx.scheduler.now();
    for (const body of splitBatches(batches)) {
      if (!this.#sendDelta(peer, body)) {
        peer.needsSnapshot = true;
        return;
      }
    }
  }
}
