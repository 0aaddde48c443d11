/**
 * Anti-entropy: digest rounds and repair. Every `digestIntervalMs` a node
 * sends each live or suspect peer a digest per limiter (a checksum per key
 * shard over the settled buckets); a shard that differed from a peer's in two
 * rounds in a row is repaired both ways at once: we push our contents of it
 * and ask for theirs with REPAIR. This also carries cells of third nodes that
 * one side cannot reach. This file owns the digests (which buckets they
 * cover, how they compare), the rounds and the shard pushes.
 *
 * When most of a limiter's shards differ twice in a row, the node asks the
 * peer for a whole snapshot (SYNC, at most one per peer every 8 digest
 * intervals) rather than for most shards one by one, and still pushes its
 * own differing shards.
 *
 * Each digest also carries the sender's limit register when a runtime change
 * set it, and the receiver joins it (LWW): a limit change that every other
 * path lost (a dropped DELTA, a retained log thrown away for a snapshot, a
 * bridge) converges within a digest interval (issue 10, defect 10).
 *
 * What a peer asks of us here costs walks over our keys, so none of it runs
 * at the peer's will (issue 9, defect 7): DIGEST and REPAIR frames draw on
 * the peer's request budget (`request-budget.ts`; past it they are dropped,
 * counted and reported); the shards owed to a peer (its REPAIRs and our pushes) coalesce
 * per limiter and are answered by walks of bounded length on the gossip
 * tick, one walk answering every shard owed, however many entries asked.
 *
 * @module
 */
import { FrameType, type RepairBody, type WindowDigest } from '../../transport/codec/frame.js';
import { MAX_WINDOWS_PER_FRAME } from '../../transport/codec/frame-schema.js';
import type { Limiter } from '../limiter/limiter.js';
import type { Peer } from './peer.js';
import { nodeOfReplica } from './relay-routes.js';
import type { ReplicationContext } from './replication-context.js';
import { limitToWire, MAX_KEYS_PER_FRAME, mergeLimitFrom, splitBatches, toBatch } from './window-batches.js';

/** Key shards per limiter digest: 256 × 4 bytes per limiter per digest interval. */
export const DIGEST_SHARDS = 256;

/** Past this many shards differing twice in a row, a node asks the peer for a snapshot (SYNC) instead of a repair. */
export const SYNC_SHARDS = DIGEST_SHARDS / 2;

/** At most one SYNC per peer per this many digest intervals (a snapshot of a large window takes several). */
const SYNC_EVERY_DIGESTS = 8;

/**
 * Slots one gossip tick walks for one peer's repairs (a hash each), of which
 * it sends at most `snapshotChunkKeys` keys (the keys of the owed shards): a
 * few ms, so that a repair of every shard of a large window is spread over
 * several ticks instead of blocking the event loop at once.
 */
export const REPAIR_SLOTS_PER_TICK = 8_192;

/** Every digest shard: an owed origin's cells are walked over the whole window. */
const ALL_SHARDS: ReadonlySet<number> = new Set(Array.from({ length: DIGEST_SHARDS }, (_, i) => i));

/**
 * The buckets a digest covers: the live window minus the two newest buckets,
 * whose cells are still in flight as deltas (comparing them would trigger
 * repairs that the next delta makes moot), and minus the oldest, which a peer
 * a little ahead may already have dropped.
 */
export function digestRange(limiter: Limiter): { from: number; to: number } {
  const cur = limiter.replica.currentBucket();
  return { from: cur - limiter.buckets + 1, to: cur - 2 };
}

/** Indexes of the shards where two digests differ. */
export function compareDigests(ours: number[], theirs: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < ours.length; i++) if (ours[i] !== theirs[i]) out.push(i);
  return out;
}

/** Digest rounds and repairs for one node. */
export class AntiEntropy {
  #ctx: ReplicationContext;
  #peers: ReadonlyMap<string, Peer>;
  /** Our digests of the current round, per limiter. */
  #digests = new Map<string, WindowDigest>();

  /** @param peers the node's peer table (owned by its membership). */
  constructor(ctx: ReplicationContext, peers: ReadonlyMap<string, Peer>) {
    this.#ctx = ctx;
    this.#peers = peers;
  }

  /** One digest round: our digest of every limiter to every live or suspect peer. */
  round(): void {
    // A digest costs a pass over every key: only take it for someone.
    if (![...this.#peers.values()].some((p) => p.linked && (p.state === 'live' || p.state === 'suspect'))) return;
    const digests: WindowDigest[] = [];
    this.#digests.clear();
    for (const limiter of this.#ctx.limiters.values()) {
      const { from, to } = digestRange(limiter);
      const limit = limitToWire(limiter);
      if (to < from) {
        // No settled bucket to compare yet, but the register still travels: an entry without shards.
        const cur = limiter.replica.currentBucket();
        if (limit !== null) digests.push({ name: limiter.name, from: cur, to: cur, shards: [], limit });
        continue;
      }
      const digest: WindowDigest = { name: limiter.name, from, to, shards: limiter.replica.digest(from, to, DIGEST_SHARDS) };
      this.#digests.set(limiter.name, digest);
      digests.push(limit === null ? digest : { ...digest, limit });
    }
    for (const peer of this.#peers.values()) {
      if (peer.state !== 'live' && peer.state !== 'suspect') continue;
      for (let i = 0; i < digests.length; i += MAX_WINDOWS_PER_FRAME) {
        const body = { digests: digests.slice(i, i + MAX_WINDOWS_PER_FRAME) };
        if (this.#ctx.send(peer, { type: FrameType.DIGEST, hlc: 0, body })) this.#ctx.counters.digestsSent++;
      }
    }
  }

  /**
   * Compares a peer's digests with ours; repairs the shards that differed in
   * this round and the previous one. One digest per limiter counts (later
   * ones in the same frame are ignored), and a peer past its budget is
   * refused.
   */
  onDigest(peer: Peer, digests: WindowDigest[]): void {
    const { options, scheduler } = this.#ctx;
    if (!peer.budget.take('digest', scheduler.now(), options.digestIntervalMs)) {
      this.#ctx.refuse(peer, 'digest-throttled', `DIGEST of ${digests.length} windows, more often than the digest interval justifies`);
      return;
    }
    const wants: RepairBody['wants'] = [];
    let sync = false;
    const seen = new Set<string>();
    for (const d of digests) {
      const limiter = this.#ctx.limiters.get(d.name);
      if (limiter === undefined || seen.has(d.name)) continue;
      seen.add(d.name);
      // The register first: an entry may carry it without shards (no settled bucket yet).
      if (d.limit != null) mergeLimitFrom(this.#ctx, peer, limiter, d.limit);
      if (d.shards.length !== DIGEST_SHARDS) continue;
      // Peers' digests arrive within one interval of ours and mostly cover the
      // same buckets: reuse our own pass instead of one pass per peer.
      let ours = this.#digests.get(d.name);
      if (ours === undefined || ours.from !== d.from || ours.to !== d.to) {
        ours = { name: d.name, from: d.from, to: d.to, shards: limiter.replica.digest(d.from, d.to, DIGEST_SHARDS) };
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
      this.#owe(peer, d.name, differing);
      this.#ctx.counters.repairPushesStarted++;
      // Most of the window differs (we missed a peer's snapshot, or held
      // little when we joined): one snapshot pulls it all in one stream,
      // instead of asking for most shards again every round.
      if (differing.length > SYNC_SHARDS) sync = true;
      else wants.push({ name: d.name, from: d.from, to: d.to, shards: differing });
    }
    const now = scheduler.now();
    if (sync && now - peer.syncSentAt >= SYNC_EVERY_DIGESTS * options.digestIntervalMs) {
      if (this.#ctx.send(peer, { type: FrameType.SYNC, hlc: 0, body: {} })) {
        peer.syncSentAt = now;
        this.#ctx.counters.syncsSent++;
      }
    }
    if (wants.length > 0) this.#ctx.send(peer, { type: FrameType.REPAIR, hlc: 0, body: { wants } });
  }

  /**
   * Takes a peer's REPAIR request: the shards it wants are owed to it, per
   * limiter, and answered by the walks of {@link stream}. The frame costs a
   * look at each shard index it lists, and draws on the peer's budget.
   */
  onRepair(peer: Peer, wants: RepairBody['wants']): void {
    if (wants.length === 0) return;
    const { options, scheduler } = this.#ctx;
    if (!peer.budget.take('repair', scheduler.now(), options.digestIntervalMs)) {
      this.#ctx.refuse(peer, 'repair-throttled', `REPAIR of ${wants.length} windows, more often than the digest interval justifies`);
      return;
    }
    const answered = new Set<string>();
    for (const want of wants) {
      if (!this.#ctx.limiters.has(want.name)) continue;
      this.#owe(peer, want.name, want.shards);
      answered.add(want.name);
    }
    this.#ctx.counters.repairRequestsAnswered += answered.size;
  }

  /**
   * Sends `peer` the next part of what we owe it: walks over the owed
   * limiters' slots, {@link REPAIR_SLOTS_PER_TICK} slots in all per call,
   * none while its send queue is as full as a snapshot would wait for.
   * Called on every gossip tick for every linked peer.
   */
  stream(peer: Peer): void {
    const { limiters, options, transport } = this.#ctx;
    let slots = REPAIR_SLOTS_PER_TICK;
    let keys = options.snapshotChunkKeys;
    while (slots > 0 && keys > 0) {
      let walk = peer.repairWalk;
      if (walk === null) {
        const next = peer.repairsOwed.entries().next();
        if (next.done === true) {
          // Then the origins' cells owed since the peer lost its direct path to them (relay-routes.ts).
          const owed = peer.originsOwed.entries().next();
          if (owed.done === true) return;
          const [name, origins] = owed.value;
          peer.originsOwed.delete(name);
          walk = peer.repairWalk = { name, shards: ALL_SHARDS, cursor: 0, origins };
        } else {
          const [name, mask] = next.value;
          peer.repairsOwed.delete(name);
          const shards = new Set<number>();
          for (let s = 0; s < mask.length; s++) if (mask[s] === 1) shards.add(s);
          walk = peer.repairWalk = { name, shards, cursor: 0 };
        }
      }
      const limiter = limiters.get(walk.name);
      if (limiter === undefined) {
        peer.repairWalk = null;
        continue;
      }
      if (transport.stats(peer.nodeId).queuedBytes > options.snapshotQueueBytes) return;
      const origins = walk.origins;
      const only = origins === undefined ? undefined : (replicaId: string) => origins.has(nodeOfReplica(replicaId));
      const { state, cursor, examined } = limiter.replica.shardChunk(DIGEST_SHARDS, walk.shards, walk.cursor, slots, Math.min(keys, MAX_KEYS_PER_FRAME), only);
      slots -= Math.max(1, examined);
      keys -= state.keys.length;
      if (cursor === -1) peer.repairWalk = null;
      else walk.cursor = cursor;
      if (state.keys.length === 0) continue;
      for (const body of splitBatches([toBatch(limiter, state, true)])) {
        if (!this.#ctx.send(peer, { type: FrameType.DELTA, hlc: 0, body: { batches: body } })) {
          // Link lost (the snapshot on its return replaces what we owed) or frame refused: drop the repairs.
          peer.repairsOwed.clear();
          peer.originsOwed.clear();
          peer.repairWalk = null;
          return;
        }
      }
    }
  }

  /**
   * Records that we owe `peer` every live cell of `origin`'s replicas, in
   * every limiter: it lost its direct path to that node and may have missed
   * its cells since (see `relay-routes.ts`). Sent by the walks of {@link stream}.
   */
  oweOrigin(peer: Peer, origin: string): void {
    for (const name of this.#ctx.limiters.keys()) {
      let origins = peer.originsOwed.get(name);
      if (origins === undefined) peer.originsOwed.set(name, (origins = new Set()));
      origins.add(origin);
    }
  }

  /** Records that we owe `peer` our cells of `shards` of limiter `name` (indexes past the digest's are meaningless: ignored). */
  #owe(peer: Peer, name: string, shards: readonly number[]): void {
    let mask = peer.repairsOwed.get(name);
    if (mask === undefined) {
      mask = new Uint8Array(DIGEST_SHARDS);
      peer.repairsOwed.set(name, mask);
    }
    for (let i = 0; i < shards.length; i++) {
      const s = shards[i];
      if (s < DIGEST_SHARDS) mask[s] = 1;
    }
  }
}
