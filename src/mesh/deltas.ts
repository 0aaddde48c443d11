/**
 * Delta flushing, the payload of the gossip tick: each tick drains every
 * limiter's changed cells into window batches and sends them to every
 * reachable peer in as few DELTA frames as the frame bounds allow. It also
 * owns log compaction: every peer's retained delta log (the current and the
 * previous retention period), the catch-up send to a peer heard again after
 * silence, and the switch to a snapshot when a log outgrows `maxLogCells`.
 * On the receiving side it merges DELTA frames and keeps the lag estimate.
 *
 * Relayed cells (other replicas' cells a merge changed, issue 10, defect 11)
 * go only to the peers that need them (`relay-routes.ts`): each peer gets
 * this replica's own cells plus the relayed cells of the origins it cannot
 * hear directly, and only those are kept in its retained log. A tick with
 * nothing relayed (a healthy cluster, once the PEERS reports are in) sends
 * one shared set of frames to every peer, as before.
 *
 * @module
 */
import { FrameType, type WindowBatch } from '../../transport/codec/frame.js';
import { BATCH_CELL_FLOOR, BATCH_CELL_REPLICA, BATCH_CELL_STRIDE } from '../../crdt/cell-batch.js';
import type { Peer } from './peer.js';
import type { RelayRoutes } from './relay-routes.js';
import type { ReplicationContext } from './replication-context.js';
import { mergeBatches, splitBatches, toBatch } from './window-batches.js';

/** One tick's deltas: a batch per changed limiter, and the same split into frame bodies. */
export interface TickDeltas {
  batches: WindowBatch[];
  frames: WindowBatch[][];
  /** Limiters whose window moved on since the retained logs were last pruned, and their first live bucket. */
  expired: Array<{ limiter: string; minBucket: number }>;
  /** Some batch carries relayed cells (a replica table beyond this replica's own id). */
  relayed: boolean;
  /** Per-peer variants of the batches, by which relayed replicas they keep (built on demand). */
  variants: Map<string, { batches: WindowBatch[]; frames: WindowBatch[][] }>;
}

/** Sends, retains and receives deltas. */
export class DeltaGossip {
  #ctx: ReplicationContext;
  #routes: RelayRoutes;
  /** What a merged DELTA relays: the replicas some peer needs (one closure, not one per frame). */
  #relayWanted: (replicaId: string) => boolean;
  /** Per limiter, the first live bucket the retained logs were last pruned to. */
  #prunedTo = new Map<string, number>();

  constructor(ctx: ReplicationContext, routes: RelayRoutes) {
    this.#ctx = ctx;
    this.#routes = routes;
    this.#relayWanted = (replicaId) => routes.wanted(replicaId);
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
    const expired: TickDeltas['expired'] = [];
    for (const limiter of this.#ctx.limiters.values()) {
      const { state, limitChanged } = limiter.replica.drainDelta();
      if (state !== null || limitChanged) batches.push(toBatch(limiter, state ?? { replicas: [], keys: [] }, limitChanged));
      // The window's first live bucket, where snapshots and deltas cut it too: neither sends older
      // cells. Pruning once per bucket boundary bounds the work to one pass over each log per bucket width.
      const minBucket = limiter.replica.currentBucket() - limiter.buckets;
      if (minBucket > (this.#prunedTo.get(limiter.name) ?? Number.NEGATIVE_INFINITY)) {
        this.#prunedTo.set(limiter.name, minBucket);
        expired.push({ limiter: limiter.name, minBucket });
      }
    }
    const relayed = batches.some((b) => b.replicas.length > 1);
    return { batches, frames: batches.length > 0 ? splitBatches(batches) : [], expired, relayed, variants: new Map() };
  }

  /**
   * Gives `peer` this tick's deltas: sent when it is reachable, retained in
   * its log either way (past the log's bound it is owed a snapshot instead).
   */
  ship(peer: Peer, deltas: TickDeltas, now: number): void {
    const reachable = peer.state !== 'suspect' && peer.state !== 'skewed';
    // Expired buckets leave the retained logs (Raft-style compaction), so a long silence holds only live cells.
    for (const { limiter, minBucket } of deltas.expired) {
      peer.log.prune(limiter, minBucket);
      peer.previous.prune(limiter, minBucket);
    }
    // Catch up first: rotating now would forget what it missed while silent.
    if (reachable && peer.catchUp) this.#sendRetained(peer);
    if (reachable && now - peer.rotatedAt >= this.#ctx.options.suspectAfterMs) peer.rotate(now);
    const { batches, frames } = this.#forPeer(peer, deltas);
    this.#retain(peer, batches);
    if (reachable) {
      for (const body of frames) this.#sendDelta(peer, body);
    }
  }

  /**
   * This tick's batches as `peer` gets them: every relayed cell whose origin
   * it does not need (see `RelayRoutes.relayTo`) left out. Peers that keep
   * the same relayed replicas share one variant, built once per tick.
   */
  #forPeer(peer: Peer, deltas: TickDeltas): { batches: WindowBatch[]; frames: WindowBatch[][] } {
    if (!deltas.relayed) return deltas;
    // The variant's signature: per batch, the relayed replica indexes the peer keeps.
    let signature = '';
    let all = true;
    const keeps: Uint8Array[] = [];
    for (const b of deltas.batches) {
      const keep = new Uint8Array(b.replicas.length);
      keep[0] = 1; // index 0: this replica's own cells, for every peer
      for (let i = 1; i < b.replicas.length; i++) {
        if (this.#routes.relayTo(peer, b.replicas[i])) keep[i] = 1;
        else all = false;
      }
      keeps.push(keep);
      signature += `${keep.join('')};`;
    }
    if (all) return deltas;
    let variant = deltas.variants.get(signature);
    if (variant === undefined) {
      const batches: WindowBatch[] = [];
      for (let j = 0; j < deltas.batches.length; j++) {
        const b = filterBatch(deltas.batches[j], keeps[j]);
        if (b !== null) batches.push(b);
      }
      variant = { batches, frames: batches.length > 0 ? splitBatches(batches) : [] };
      deltas.variants.set(signature, variant);
    }
    return variant;
  }

  /** Merges a DELTA frame from `peer` (its replication lag is taken on every frame, by `Membership.hear`). */
  receive(peer: Peer, batches: WindowBatch[]): void {
    mergeBatches(this.#ctx, peer, batches, this.#routes.mode === 'off' ? false : this.#relayWanted, true);
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

/**
 * `batch` with only the cells of the replica indexes `keep` marks, and every
 * cell that carries a floor: a floor is a reset's observation, whose origin
 * is the reset's issuer rather than the cell's replica, so it goes to every
 * peer (resets are rare). A key none of whose cells is left is dropped.
 * Null when nothing is left.
 */
function filterBatch(batch: WindowBatch, keep: Uint8Array): WindowBatch | null {
  const keys: WindowBatch['keys'] = [];
  const kept = (flat: number[], i: number): boolean => keep[flat[i + BATCH_CELL_REPLICA]] === 1 || flat[i + BATCH_CELL_FLOOR] > 0;
  for (const entry of batch.keys) {
    const [key, flat] = entry;
    let dropped = false;
    for (let i = 0; i < flat.length && !dropped; i += BATCH_CELL_STRIDE) dropped = !kept(flat, i);
    if (!dropped) {
      keys.push(entry);
      continue;
    }
    const cells: number[] = [];
    for (let i = 0; i < flat.length; i += BATCH_CELL_STRIDE) {
      if (kept(flat, i)) for (let k = 0; k < BATCH_CELL_STRIDE; k++) cells.push(flat[i + k]);
    }
    if (cells.length > 0) keys.push([key, cells]);
  }
  if (keys.length === 0 && batch.limit === null) return null;
  return { ...batch, keys };
}
