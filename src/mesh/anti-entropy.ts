/**
 * Anti-entropy: digest rounds and repair. Every `digestIntervalMs` a node
 * sends each live or suspect peer a digest per limiter (a checksum per key
 * shard over the settled buckets); a shard that differed from a peer's in two
 * rounds in a row is repaired both ways at once: we push our contents of it
 * and ask for theirs with REPAIR. This also carries cells of third nodes that
 * one side cannot reach. This file owns the digests (which buckets they
 * cover, how they compare), the rounds and the shard pushes.
 *
 * @module
 */
import { FrameType, type RepairBody, type WindowDigest } from '../../transport/codec/frame.js';
import type { Limiter } from '../limiter/limiter.js';
import type { Peer } from './peer.js';
import type { ReplicationContext } from './replication-context.js';
import { MAX_KEYS_PER_FRAME, splitBatches, toBatch } from './window-batches.js';

/** Key shards per limiter digest: 256 × 4 bytes per limiter per digest interval. */
export const DIGEST_SHARDS = 256;

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
      if (to < from) continue;
      const digest = { name: limiter.name, from, to, shards: limiter.replica.digest(from, to, DIGEST_SHARDS) };
      this.#digests.set(limiter.name, digest);
      digests.push(digest);
    }
    for (const peer of this.#peers.values()) {
      if (peer.state !== 'live' && peer.state !== 'suspect') continue;
      if (digests.length > 0 && this.#ctx.send(peer, { type: FrameType.DIGEST, hlc: 0, body: { digests } })) this.#ctx.counters.digestsSent++;
    }
  }

  /** Compares a peer's digests with ours; repairs the shards that differed in this round and the previous one. */
  onDigest(peer: Peer, digests: WindowDigest[]): void {
    const wants: RepairBody['wants'] = [];
    for (const d of digests) {
      const limiter = this.#ctx.limiters.get(d.name);
      if (limiter === undefined || d.shards.length !== DIGEST_SHARDS) continue;
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
      if (this.#pushShards(peer, limiter, new Set(differing))) this.#ctx.counters.repairPushesStarted++;
      wants.push({ name: d.name, from: d.from, to: d.to, shards: differing });
    }
    if (wants.length > 0) this.#ctx.send(peer, { type: FrameType.REPAIR, hlc: 0, body: { wants } });
  }

  /** Answers a peer's REPAIR request with our contents of the shards it wants. */
  onRepair(peer: Peer, wants: RepairBody['wants']): void {
    for (const want of wants) {
      const limiter = this.#ctx.limiters.get(want.name);
      if (limiter !== undefined && this.#pushShards(peer, limiter, new Set(want.shards))) this.#ctx.counters.repairRequestsAnswered++;
    }
  }

  /** Sends our cells of `shards` of `limiter` as DELTA frames; false when those shards hold no key. */
  #pushShards(peer: Peer, limiter: Limiter, shards: Set<number>): boolean {
    const state = limiter.replica.shardState(DIGEST_SHARDS, shards);
    if (state.keys.length === 0) return false;
    for (let i = 0; i < state.keys.length; i += MAX_KEYS_PER_FRAME) {
      const part = { replicas: state.replicas, keys: state.keys.slice(i, i + MAX_KEYS_PER_FRAME) };
      for (const body of splitBatches([toBatch(limiter, part, true)])) {
        this.#ctx.send(peer, { type: FrameType.DELTA, hlc: 0, body: { batches: body } });
      }
    }
    return true;
  }
}
