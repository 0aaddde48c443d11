/**
 * Targeted relaying (issue 10, defect 11): which peers get which relayed
 * cells. A node relays the cells a merge changed so that a bridge (a–c cut,
 * both reach b) converges within a few gossip intervals; relaying every
 * change to every peer would multiply a healthy full mesh's gossip by the
 * peer count. So every node reports, in its PEERS frames, which nodes it has
 * a live link to (linked, and `live` or `syncing`: it hears them), and a
 * node relays a cell whose origin replica belongs to node X to peer Y only
 * when X's own deltas may not reach Y:
 *
 * - Y or X has not reported yet (unknown is "relay": safe at startup);
 * - Y reports no live link to X, or X reports none to Y (a one-way cut:
 *   X sends deltas only to peers it hears);
 * - the replica is not X's current incarnation as we know it (a crashed
 *   process's cells: X itself no longer holds them);
 * - never to X itself, and never our own current cells (those go to all).
 *
 * When a pair (Y, X) turns from "X reaches Y" to "relay", Y may have missed
 * X's cells since the cut (suspicion takes `suspectAfterMs`): Y is then
 * owed every live cell of X's replicas, sent by bounded walks on the gossip
 * tick (`anti-entropy.ts`).
 *
 * @module
 */
import { replicaIdOf } from '../limiter/replica-id.js';
import type { PeerAddress } from '../../transport/codec/frame.js';
import type { Peer } from './peer.js';
import type { ReplicationContext } from './replication-context.js';

/** How a node relays: `targeted` (the default), `all` (every change to every peer) or `off` (tests' baseline). */
export type RelayMode = 'targeted' | 'all' | 'off';

/** The node id of a replica id (`nodeId#incarnation`; a node id may itself hold '#'). */
export function nodeOfReplica(replicaId: string): string {
  const i = replicaId.lastIndexOf('#');
  return i < 0 ? replicaId : replicaId.slice(0, i);
}

/** True when `peer`, as this node sees it, is a live link: what a node reports as `linked`. */
export function reportsLinked(peer: Peer): boolean {
  return peer.linked && (peer.state === 'live' || peer.state === 'syncing');
}

/** Relay routes of one node: what its peers reported, and which relayed cells each one needs. */
export class RelayRoutes {
  mode: RelayMode = 'targeted';
  #ctx: ReplicationContext;
  #peers: ReadonlyMap<string, Peer>;
  /** Replica id → some linked peer needs its cells relayed; cleared whenever a report or a link changes. */
  #wanted = new Map<string, boolean>();

  constructor(ctx: ReplicationContext, peers: ReadonlyMap<string, Peer>) {
    this.#ctx = ctx;
    this.#peers = peers;
  }

  /** Forgets cached answers: a link or a report changed. */
  invalidate(): void {
    this.#wanted.clear();
  }

  /** X's own deltas reach Y: both report a live link to each other. */
  #direct(y: Peer, x: string): boolean {
    if (y.links?.get(x) !== true) return false;
    return this.#peers.get(x)?.links?.get(y.nodeId) === true;
  }

  /** Should `peer` get relayed cells of replica `replicaId`? */
  relayTo(peer: Peer, replicaId: string): boolean {
    if (this.mode !== 'targeted') return this.mode === 'all';
    const x = nodeOfReplica(replicaId);
    if (x === peer.nodeId) return false;
    const px = this.#peers.get(x);
    // An incarnation X no longer runs (or one we never met): only relays can carry its cells.
    if (x === this.#ctx.nodeId || px === undefined || replicaIdOf(x, px.incarnation) !== replicaId) return true;
    return !this.#direct(peer, x);
  }

  /** Does any linked peer need relayed cells of `replicaId`? What a merge remembers changes for. */
  wanted(replicaId: string): boolean {
    if (this.mode !== 'targeted') return this.mode === 'all';
    let w = this.#wanted.get(replicaId);
    if (w === undefined) {
      w = false;
      for (const peer of this.#peers.values()) {
        if (peer.linked && this.relayTo(peer, replicaId)) {
          w = true;
          break;
        }
      }
      // Bounded: replica ids come from merged batches, which the registry bounds; clear rather than grow.
      if (this.#wanted.size >= 4096) this.#wanted.clear();
      this.#wanted.set(replicaId, w);
    }
    return w;
  }

  /**
   * Takes `from`'s PEERS report. Returns, per peer, the origin nodes whose
   * cells it is now owed in full: pairs (Y, X) that turned from "X reaches
   * Y directly" to "relay".
   */
  report(from: Peer, peers: readonly PeerAddress[]): Array<{ peer: Peer; origin: string }> {
    const next = new Map<string, boolean>();
    for (const p of peers) next.set(p.nodeId, p.linked);
    const old = from.links;
    if (old !== null && sameLinks(old, next)) return [];
    // Which pairs involving `from` are direct now, before taking the report.
    const before = this.#pairsOf(from);
    from.links = next;
    this.invalidate();
    const owed: Array<{ peer: Peer; origin: string }> = [];
    if (this.mode !== 'targeted') return owed;
    for (const { y, x } of before.values()) {
      if (!this.#direct(y, x) && y.linked) owed.push({ peer: y, origin: x });
    }
    return owed;
  }

  /** The direct pairs (Y, X) with `p` on either side, keyed `Y\0X`. */
  #pairsOf(p: Peer): Map<string, { y: Peer; x: string }> {
    const pairs = new Map<string, { y: Peer; x: string }>();
    if (p.links === null) return pairs;
    for (const [x, linked] of p.links) {
      if (linked && x !== this.#ctx.nodeId && this.#direct(p, x)) pairs.set(`${p.nodeId}\0${x}`, { y: p, x });
    }
    for (const y of this.#peers.values()) {
      if (y !== p && this.#direct(y, p.nodeId)) pairs.set(`${y.nodeId}\0${p.nodeId}`, { y, x: p.nodeId });
    }
    return pairs;
  }
}

function sameLinks(a: ReadonlyMap<string, boolean>, b: ReadonlyMap<string, boolean>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
